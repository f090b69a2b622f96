"""The knowledge base: documents, collections, ingest jobs, stored sources and backups."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import IO, Any

from lore_client._pages import Page
from lore_client._routes import Call, FileField, M, Namespace, endpoint, given, paged
from lore_client.types import (
    Access,
    AccessSpec,
    Backup,
    Collection,
    CollectionDeleted,
    Document,
    DocumentAdded,
    DocumentDetail,
    Job,
    JSONObject,
    Scalar,
    Source,
    Strings,
)

FileLike = str | PathLike[str] | bytes | IO[bytes]


def file_field(file: FileLike, filename: str | None, content_type: str | None) -> FileField:
    """A multipart file read whole (so that a retry can send it again), named and typed from its path unless
    told."""
    if isinstance(file, bytes):
        content, name = file, filename or "upload"
    elif isinstance(file, str | PathLike):
        path = Path(file)
        content, name = path.read_bytes(), filename or path.name
    else:
        content, name = file.read(), filename or Path(str(getattr(file, "name", "upload"))).name
    kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, content, kind


def document_fields(**fields: object) -> dict[str, str | list[str]]:
    """Multipart form fields: lists repeated, objects as JSON, None left out."""
    form: dict[str, str | list[str]] = {}
    for name, value in fields.items():
        if isinstance(value, list):
            form[name] = [str(item) for item in value]
        elif isinstance(value, Mapping):
            form[name] = json.dumps(dict(value))
        elif value is not None:
            form[name] = str(value)
    return form


class Documents(Namespace[M]):
    name = "documents"

    @endpoint("POST", "/v1/documents")
    def add(
        self,
        title: str,
        text: str,
        *,
        source: str | None = None,
        collection: str | None = None,
        tags: list[str] | None = None,
        metadata: Mapping[str, Scalar] | None = None,
        access: AccessSpec | None = None,
    ) -> Call[DocumentAdded]:
        """Add (or replace, by `source`) a text document; it is searchable when this returns."""
        fields = given(source=source, collection=collection, tags=tags, metadata=metadata, access=access)
        return Call(json={"title": title, "text": text, **fields})

    @endpoint("POST", "/v1/documents")
    def upload(
        self,
        file: FileLike,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        collection: str | None = None,
        tags: list[str] | None = None,
        metadata: Mapping[str, Scalar] | None = None,
        source: str | None = None,
        access: AccessSpec | None = None,
    ) -> Call[DocumentAdded]:
        """Upload a file (PDF, Word, HTML, Markdown, text): a path, bytes or a binary file object."""
        form = document_fields(
            collection=collection, tags=tags, metadata=metadata, source=source, access=access
        )
        return Call(data=form, files={"file": file_field(file, filename, content_type)})

    @paged("/v1/documents")
    def list(self, *, collection: str | None = None, limit: int | None = None) -> Call[Page[Document]]:
        """Newest first, the documents the caller may read."""
        return Call(query={"collection": collection, "limit": limit})

    @endpoint("GET", "/v1/documents/{document_id}")
    def get(self, document_id: str) -> Call[DocumentDetail]:
        return Call(path={"document_id": document_id})

    @endpoint("DELETE", "/v1/documents/{document_id}")
    def delete(self, document_id: str) -> Call[None]:
        return Call(path={"document_id": document_id}, expect="empty")

    @endpoint("GET", "/v1/documents/{document_id}/access")
    def get_access(self, document_id: str) -> Call[Access]:
        return Call(path={"document_id": document_id})

    @endpoint("PUT", "/v1/documents/{document_id}/access")
    def set_access(
        self,
        document_id: str,
        *,
        restricted: bool = True,
        groups: Strings | None = None,
        users: Strings | None = None,
    ) -> Call[Access]:
        access = given(restricted=restricted, groups=groups, users=users)
        return Call(path={"document_id": document_id}, json=access)


class Collections(Namespace[M]):
    name = "collections"

    @endpoint("GET", "/v1/collections")
    def list(self) -> Call[list[Collection]]:
        return Call(unwrap="items")

    @endpoint("GET", "/v1/collections/{name}")
    def get(self, name: str) -> Call[Collection]:
        return Call(path={"name": name})

    @endpoint("DELETE", "/v1/collections/{name}")
    def delete(self, name: str) -> Call[CollectionDeleted]:
        """The collection and every document in it."""
        return Call(path={"name": name})


class Jobs(Namespace[M]):
    name = "jobs"

    @endpoint("POST", "/v1/ingest")
    def ingest(self, documents: list[JSONObject]) -> Call[Job]:
        """Queue an `ingest` job of text documents (each as `documents.add` takes them); follow it with
        `jobs.get`."""
        return Call(json={"documents": documents})

    @paged("/v1/jobs")
    def list(
        self, *, state: str | None = None, kind: str | None = None, limit: int | None = None
    ) -> Call[Page[Job]]:
        return Call(query={"state": state, "kind": kind, "limit": limit})

    @endpoint("GET", "/v1/jobs/{job_id}")
    def get(self, job_id: str) -> Call[Job]:
        return Call(path={"job_id": job_id})

    @endpoint("POST", "/v1/jobs/{job_id}/retry")
    def retry(self, job_id: str) -> Call[Job]:
        return Call(path={"job_id": job_id})


class Sources(Namespace[M]):
    name = "sources"

    @endpoint("POST", "/v1/sources")
    def create(
        self,
        name: str,
        kind: str,
        location: str,
        collection: str,
        *,
        interval_seconds: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Call[Source]:
        """A stored source (a folder, a site, a repository) synced into `collection`, every
        `interval_seconds` if given."""
        fields = given(interval_seconds=interval_seconds, options=options)
        return Call(
            json={"name": name, "kind": kind, "location": location, "collection": collection, **fields}
        )

    @paged("/v1/sources")
    def list(self, *, limit: int | None = None) -> Call[Page[Source]]:
        return Call(query={"limit": limit})

    @endpoint("GET", "/v1/sources/{source_id}")
    def get(self, source_id: str) -> Call[Source]:
        return Call(path={"source_id": source_id})

    @endpoint("DELETE", "/v1/sources/{source_id}")
    def delete(self, source_id: str) -> Call[None]:
        return Call(path={"source_id": source_id}, expect="empty")

    @endpoint("POST", "/v1/sources/{source_id}/sync")
    def sync(self, source_id: str) -> Call[Job]:
        return Call(path={"source_id": source_id})


class Backups(Namespace[M]):
    name = "backups"

    @endpoint("POST", "/v1/admin/backups")
    def create(self, *, background: bool = False) -> Call[JSONObject]:
        """A backup (its description), or with `background` the job writing it."""
        return Call(query={"background": background})

    @paged("/v1/admin/backups")
    def list(self, *, limit: int | None = None) -> Call[Page[Backup]]:
        return Call(query={"limit": limit})

    @endpoint("GET", "/v1/admin/backups/{name}")
    def download(self, name: str) -> Call[bytes]:
        return Call(path={"name": name}, expect="bytes")

    @endpoint("DELETE", "/v1/admin/backups/{name}")
    def delete(self, name: str) -> Call[None]:
        return Call(path={"name": name}, expect="empty")
