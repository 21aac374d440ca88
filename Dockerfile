# scim-server: `docker build -t scim-server .` then
#   docker run -p 8000:8000 -v scim-data:/data scim-server
# The default command migrates the database, then serves; `docker run IMAGE ARGS` runs
# `scim-server ARGS` (`org add`, `token issue`...). Set SCIM_DATABASE_URL to a postgresql://
# URL to use PostgreSQL; the SQLite default lives on the /data volume. compose.yaml runs
# PostgreSQL, the server and a separate worker.
#
# The base image is pinned by its exact tag (its digest could not be looked up where this was
# written): bump PYTHON_IMAGE deliberately, together with requirements/*.lock if needed.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY requirements/build.lock requirements/
RUN pip install --no-cache-dir --require-hashes -r requirements/build.lock
COPY pyproject.toml README.md ./
COPY scim_server ./scim_server
COPY mappings ./mappings
# The wheel carries mappings/ as scim_server/_mappings and the Alembic revisions.
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SCIM_DATABASE_URL=sqlite+aiosqlite:////data/scim-server.db
# Dependencies in a layer of their own, from the lock file (pinned, hash-checked): a source
# change rebuilds only the layers below.
COPY requirements/runtime.lock /tmp/runtime.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/runtime.lock \
    && rm /tmp/runtime.lock \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home scim \
    && mkdir /data \
    && chown scim:scim /data
COPY docker/entrypoint.sh /usr/local/bin/scim-server-entrypoint
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# Ready means: the database answers and has this version's schema.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=8)"]
ENTRYPOINT ["scim-server-entrypoint"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
