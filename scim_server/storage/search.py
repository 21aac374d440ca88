"""Searching in SQL: the document filters read, and the translation of filters and sorts.

The storage stores :func:`search_document` next to each resource and builds its queries
with :func:`filter_clause` and :func:`sort_clause`. Besides ``search_document``, the
filters read the projection columns, which must hold the comparison key of their attribute
under the same policy (the ``binding.comparable`` form): ``user_name_key``,
``display_name_key`` (groups) and ``external_id`` (caseExact: NFC under the default policy).
"""

from scim_server.storage.documents import search_document
from scim_server.storage.filters import filter_clause
from scim_server.storage.sorting import sort_clause

__all__ = ["filter_clause", "search_document", "sort_clause"]
