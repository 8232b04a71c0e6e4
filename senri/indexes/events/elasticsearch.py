"""The distributed event store: one Elasticsearch index, written in bulk, read with typed queries.

Writes are buffered and sent by a background thread (`senri.indexes.events.es_writer`): `put()`
returns once the events are serialised and queued, blocks when the buffer is full, and a
restart of Elasticsearch of tens of seconds loses nothing. `flush()` waits until every accepted
write is indexed and refreshed, so queries see it. Each event is stored with its id as `_id`,
so writing it again (a replay) overwrites it. The mapping and the query compiler live in
`senri.indexes.events.es_query`; only term/terms/range/exists queries with values are ever sent.

Example:
    store = ElasticsearchEventStore(index="senri-events")     # $SENRI_ELASTICSEARCH
    store.put(events)
    store.flush()
    store.aggregate(Eq("kind", "object"), Terms("label", distinct="track_id"))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from senri.credentials import elasticsearch_options
from senri.errors import MissingDependencyError, StoreError

try:
    from elasticsearch import Elasticsearch
except ImportError:  # the client comes with the `services` extra
    raise MissingDependencyError(
        "elasticsearch>=8,<9", "the Elasticsearch event store", "services"
    ) from None

from senri.config import elasticsearch_url
from senri.indexes.events import es_query as esq
from senri.indexes.events import query as q
from senri.indexes.events.es_writer import BulkWriter, Op, rejection, with_retries
from senri.records import Event

DEFAULT_INDEX = "senri-events"
WINDOW = 10_000  # Elasticsearch's default index.max_result_window
PAGE = 1000  # composite aggregation page


class ElasticsearchEventStore:
    """`EventStore` on one Elasticsearch index (created with its template when missing).

    `max_buffer` bounds the events waiting to be written; `put_timeout` is how long `put()` may
    block on a full buffer and `flush_timeout` how long `flush()` waits, before `StoreError`;
    `query_timeout` is how long reads retry an unavailable node.
    """

    def __init__(
        self,
        url: str | None = None,
        index: str = DEFAULT_INDEX,
        *,
        client: Elasticsearch | None = None,
        batch_size: int = 1000,
        max_buffer: int = 50_000,
        put_timeout: float = 300.0,
        flush_timeout: float = 120.0,
        query_timeout: float = 30.0,
    ) -> None:
        if index != index.lower() or not index or index.startswith(("_", "-", "+")):
            raise StoreError(f"invalid index name {index!r}: lower case, no leading _ - +")
        self.index = index
        self.url = url or elasticsearch_url()
        self.put_timeout = put_timeout
        self.flush_timeout = flush_timeout
        self.query_timeout = query_timeout
        self._own_client = client is None
        self.client = client or Elasticsearch(
            self.url,
            request_timeout=30,
            max_retries=0,
            retry_on_timeout=False,
            **elasticsearch_options(),
        )
        self._ensure_index()
        self._writer = BulkWriter(self.client, index, batch_size=batch_size, max_buffer=max_buffer)

    # ---- setup --------------------------------------------------------------------------

    def _ensure_index(self) -> None:
        """Install the index template (exact name) and create the index if it is missing.

        An existing index gets the current fields and dynamic templates added (a mapping that
        conflicts with them is a `StoreError` here rather than on every write)."""
        mappings = esq.mappings()

        def create() -> None:
            self.client.indices.put_index_template(
                name=self.index,
                index_patterns=[self.index],
                priority=500,
                template={
                    "settings": {"number_of_shards": 1, "number_of_replicas": 0},
                    "mappings": mappings,
                },
            )
            if not self.client.indices.exists(index=self.index):
                self.client.options(ignore_status=400).indices.create(index=self.index)
            else:
                self.client.indices.put_mapping(
                    index=self.index,
                    properties=mappings["properties"],
                    dynamic_templates=mappings["dynamic_templates"],
                )
            self.client.cluster.health(index=self.index, wait_for_status="yellow", timeout="30s")

        with_retries(create, f"creating index {self.index!r}", self.query_timeout)

    def _call(self, what: str, call: Any, **kwargs: Any) -> Any:
        """A read request with retries on transient failures."""
        return with_retries(lambda: call(**kwargs), what, self.query_timeout)

    # ---- writes -------------------------------------------------------------------------

    def put(self, events: Sequence[Event]) -> None:
        """Queue events for writing (upsert by id); blocks while the write buffer is full.

        Raises `StoreError` for an event that can never be indexed (checked here) and for
        rejections of earlier writes reported by Elasticsearch since the last call.
        """
        self._writer.raise_errors()
        ops = [Op.index(e.id, esq.to_document(e)) for e in events]
        self._writer.submit(ops, self.put_timeout)

    def flush(self) -> None:
        """Wait until every queued write is indexed, then refresh so queries see it."""
        self._writer.drain(self.flush_timeout)
        self._writer.raise_errors()
        self._call(
            "refresh", self.client.indices.refresh, index=self.index, ignore_unavailable=True
        )

    def delete(self, ids: Sequence[str]) -> int:
        """Remove events by id (after the queued writes); returns how many existed."""
        self._writer.drain(self.flush_timeout)
        self._writer.raise_errors()
        unique = list(dict.fromkeys(ids))
        results = self._writer.send([Op.delete(i) for i in unique], self.flush_timeout)
        for event_id, result in zip(unique, results, strict=True):
            if "error" in result:
                raise rejection(event_id, result["error"])
        return sum(result.get("result") == "deleted" for result in results)

    def delete_matching(self, filter: q.Filter, *, page: int = 5000) -> int:
        """Remove every event `filter` matches, after the queued writes.

        Pages of matching ids are deleted with bulk requests and the index refreshed, until a
        search finds none (``_delete_by_query`` lives in the reindex module, which the embedded
        node lacks; this works on any node).
        """
        self._writer.drain(self.flush_timeout)
        self._writer.raise_errors()
        query = esq.compile_filter(filter)
        removed = 0
        while True:
            self._call("refresh", self.client.indices.refresh, index=self.index)
            found = self._call(
                "finding events to delete",
                self.client.search,
                index=self.index,
                query=query,
                size=page,
                source=False,
                sort=["_doc"],
            )["hits"]["hits"]
            if not found:
                return removed
            ids = [hit["_id"] for hit in found]
            results = self._writer.send([Op.delete(i) for i in ids], self.flush_timeout)
            for event_id, result in zip(ids, results, strict=True):
                if "error" in result:
                    raise rejection(event_id, result["error"])
            removed += sum(result.get("result") == "deleted" for result in results)

    def clear(self) -> None:
        """Drop queued writes and every stored event, by deleting and re-creating the index."""
        self._writer.discard()
        with self._writer.io:
            self._call(
                f"deleting index {self.index!r}",
                self.client.options(ignore_status=404).indices.delete,
                index=self.index,
            )
            self._ensure_index()

    def close(self) -> None:
        """Write what is queued (up to `flush_timeout`), then stop the writer and the client."""
        try:
            self._writer.drain(self.flush_timeout)
            self._writer.raise_errors()
        finally:
            self._writer.close(abandon=self._writer.pending() > 0)
            if self._own_client:
                self.client.close()

    # ---- reads --------------------------------------------------------------------------

    def get(self, event_id: str) -> Event | None:
        """The stored event (real-time: sees every write already sent, refreshed or not)."""
        response = self._call(
            "get", self.client.options(ignore_status=404).get, index=self.index, id=event_id
        )
        return Event.from_dict(response["_source"]) if response.get("found") else None

    def search(self, query: q.Query) -> list[Event]:
        if query.limit == 0:
            return []
        body: dict[str, Any] = {
            "query": esq.compile_filter(query.filter),
            "sort": esq.sort_clause(query),
            "track_total_hits": False,
        }
        if query.offset + query.limit <= WINDOW:
            hits = self._search(body | {"from": query.offset, "size": query.limit})
            return [Event.from_dict(h["_source"]) for h in hits]
        # past the result window: walk the sorted hits with search_after (id breaks ties)
        skip, after = query.offset, None
        out: list[Event] = []
        while len(out) < query.limit:
            page = body | {"size": WINDOW} | ({"search_after": after} if after else {})
            hits = self._search(page)
            if not hits:
                break
            after = hits[-1]["sort"]
            taken = hits[skip:]
            skip = max(0, skip - len(hits))
            out += [Event.from_dict(h["_source"]) for h in taken[: query.limit - len(out)]]
        return out

    def _search(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        response = self._call("search", self.client.search, index=self.index, **body)
        return list(response["hits"]["hits"])

    def count(self, filter: q.Filter | None = None, distinct: str | None = None) -> int:
        query = esq.compile_filter(filter)
        if distinct is None:
            return int(
                self._call("count", self.client.count, index=self.index, query=query)["count"]
            )
        response = self._call(
            "count distinct",
            self.client.search,
            index=self.index,
            size=0,
            query=query,
            aggs=esq.distinct_aggs(distinct),
        )
        return esq.distinct_value(response["aggregations"])

    def aggregate(self, filter: q.Filter | None, agg: q.Aggregation) -> list[q.Bucket]:
        """Terms or time-histogram buckets, ranked exactly as the reference evaluator does.

        A `Terms` on a plain field first asks a `terms` aggregation for a few more groups than
        wanted (exact: the index has one shard); when that cannot settle ties at the cut, and
        for attributes (up to four typed fields) and histograms, every group is fetched with
        a paged composite aggregation and ranked here."""
        if isinstance(agg, q.Terms):
            top = self._top_terms(filter, agg)
            if top is not None:
                return top
            fields = esq.index_fields(agg.field)
            sources = [
                {f"k{i}": {"terms": {"field": field, "missing_bucket": True}}}
                for i, (field, _) in enumerate(fields)
            ]
        else:
            fields = [("time", float)]
            sources = [{"k0": {"histogram": {"field": "time", "interval": agg.interval}}}]
        counts: dict[Any, int] = {}
        for key, doc_count, aggs in self._composite(filter, sources, agg.distinct):
            value = None
            for i, (_, normalize) in enumerate(fields):
                if key.get(f"k{i}") is not None:
                    value = normalize(key[f"k{i}"])
                    break
            if value is None:
                continue
            c = doc_count if agg.distinct is None else esq.distinct_value(aggs)
            counts[value] = counts.get(value, 0) + c
        if isinstance(agg, q.Histogram):
            return [q.Bucket(float(k), c) for k, c in sorted(counts.items()) if c > 0]
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        return [q.Bucket(k, c) for k, c in ranked[: agg.size] if c > 0]

    def _top_terms(self, filter: q.Filter | None, agg: q.Terms) -> list[q.Bucket] | None:
        """The top groups from one `terms` aggregation, or None if it cannot be sure of them."""
        fields = esq.index_fields(agg.field)
        distinct = esq.distinct_aggs(agg.distinct) if agg.distinct is not None else {}
        if len(fields) != 1 or len(distinct) > 1:
            return None
        (field, normalize), size = fields[0], agg.size * 2 + 10
        terms: dict[str, Any] = {"field": field, "size": size}
        if distinct:
            terms["order"] = [{"distinct_0": "desc"}, {"_key": "asc"}]
        response = self._call(
            "aggregate",
            self.client.search,
            index=self.index,
            size=0,
            query=esq.compile_filter(filter),
            aggs={"top": {"terms": terms, "aggs": distinct}},
        )
        top = response["aggregations"]["top"]
        if top.get("doc_count_error_upper_bound", 0) != 0:
            return None
        counts = [
            (normalize(b["key"]), esq.distinct_value(b) if distinct else int(b["doc_count"]))
            for b in top["buckets"]
        ]
        # complete when every group came back, or when the groups left out count less than
        # the one ranked last that we keep (ES orders by count exactly on a single shard)
        if len(counts) == size and counts[-1][1] >= counts[agg.size - 1][1]:
            return None
        ranked = sorted(counts, key=lambda kv: (-kv[1], str(kv[0])))
        return [q.Bucket(k, c) for k, c in ranked[: agg.size] if c > 0]

    def _composite(
        self, filter: q.Filter | None, sources: list[dict[str, Any]], distinct: str | None
    ) -> list[tuple[dict[str, Any], int, dict[str, Any]]]:
        """Every bucket of a composite aggregation: (key, doc_count, sub-aggregations)."""
        composite: dict[str, Any] = {"size": PAGE, "sources": sources}
        body: dict[str, Any] = {"composite": composite}
        if distinct is not None:
            body["aggs"] = esq.distinct_aggs(distinct)
        out: list[tuple[dict[str, Any], int, dict[str, Any]]] = []
        while True:
            response = self._call(
                "aggregate",
                self.client.search,
                index=self.index,
                size=0,
                query=esq.compile_filter(filter),
                aggs={"groups": body},
            )
            groups = response["aggregations"]["groups"]
            out += [(b["key"], int(b["doc_count"]), b) for b in groups["buckets"]]
            if len(groups["buckets"]) < PAGE or "after_key" not in groups:
                return out
            composite["after"] = groups["after_key"]

    def __repr__(self) -> str:
        return f"ElasticsearchEventStore({self.url!r}, index={self.index!r})"
