# scim-server: `docker build -t scim-server .` then
#   docker run -p 8000:8000 -v scim-data:/data scim-server
# The default command migrates the database, then serves. Set SCIM_DATABASE_URL to a
# postgresql:// URL to use PostgreSQL; the SQLite default lives on the /data volume.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scim_server ./scim_server
COPY mappings ./mappings
# The wheel carries mappings/ as scim_server/_mappings and the Alembic revisions.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SCIM_DATABASE_URL=sqlite+aiosqlite:////data/scim-server.db
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --no-create-home scim \
    && mkdir /data \
    && chown scim /data
USER scim
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
CMD ["sh", "-c", "scim-server migrate && exec scim-server serve --host 0.0.0.0 --port 8000"]
