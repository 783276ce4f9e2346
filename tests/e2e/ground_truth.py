#!/usr/bin/env python3
"""Ground truth for kcanary's scenarios.

An independent full re-read of the canary topic, from the earliest offset,
compared with the canary's delivery journal (--delivery-journal). It shares no
code with kcanary's detector -- its own wire decoding, its own classification,
from the final state of the log rather than from a stream of events -- so the
two can disagree, and a scenario passes only when they do not.

Journal lines (written by the canary after it stored the outcomes):
    <run hex> <partition> <sequence> <STATUS> <offset> <error or ->

    python3 ground_truth.py --bootstrap 127.0.0.1:9092 --topic t --journal j.log
"""
from __future__ import annotations

import argparse
import collections
import json
import struct
import sys
import zlib
from dataclasses import dataclass, field

MAGIC = b"KCNY"
VERSION = 1
ENVELOPE = 9


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def decode(value: bytes | None) -> tuple[tuple[int, int, int] | None, str | None]:
    """Returns ((run, partition, sequence), None) or (None, invalid reason)."""
    if value is None or len(value) < ENVELOPE:
        return None, "too_short"
    if value[:4] != MAGIC:
        return None, "bad_magic"
    if value[4] != VERSION:
        return None, "unknown_version"
    body = value[ENVELOPE:]
    if zlib.crc32(body) & 0xFFFFFFFF != struct.unpack(">I", value[5:9])[0]:
        return None, "bad_checksum"
    run = partition = sequence = 0
    pos = 0
    try:
        while pos < len(body):
            key, pos = _varint(body, pos)
            number, wire_type = key >> 3, key & 7
            if number == 0:
                raise ValueError("field 0")
            if wire_type == 0:
                v, pos = _varint(body, pos)
                if number == 2:
                    partition = v if v < 2**31 else v - 2**64
                elif number == 3:
                    sequence = v
            elif wire_type == 1:
                if pos + 8 > len(body):
                    raise ValueError("truncated fixed64")
                if number == 1:
                    run = struct.unpack("<Q", body[pos:pos + 8])[0]
                pos += 8
            elif wire_type == 2:
                n, pos = _varint(body, pos)
                if pos + n > len(body):
                    raise ValueError("truncated bytes")
                pos += n
            elif wire_type == 5:
                pos += 4
            else:
                raise ValueError("wire type")
    except ValueError:
        return None, "undecodable"
    return (run, partition, sequence), None


@dataclass
class Outcome:
    status: str
    offset: int
    error: str


def read_journal(paths: list[str]) -> dict[tuple[int, int, int], Outcome]:
    """The outcome of each record: an ack (PERSISTED) wins, otherwise the last line."""
    outcomes: dict[tuple[int, int, int], Outcome] = {}
    for path in paths:
        with open(path, encoding="ascii") as f:
            for line in f:
                parts = line.split()
                if len(parts) != 6:
                    continue  # a line torn by a kill -9
                key = (int(parts[0], 16), int(parts[1]), int(parts[2]))
                new = Outcome(parts[3], int(parts[4]), "" if parts[5] == "-" else parts[5])
                old = outcomes.get(key)
                if old is None or old.status != "PERSISTED":
                    outcomes[key] = new
    return outcomes


@dataclass
class Log:
    """The final log: per partition, (offset, record or None, invalid reason)."""
    entries: dict[int, list[tuple[int, tuple[int, int, int] | None, str | None]]]
    low: dict[int, int]
    high: dict[int, int]


def read_log(bootstrap: str, topic: str, timeout_s: float = 60.0) -> Log:
    from confluent_kafka import Consumer, TopicPartition  # only needed here

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "kcanary-ground-truth",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "auto.offset.reset": "earliest",
    })
    try:
        md = consumer.list_topics(topic, timeout=10)
        partitions = sorted(md.topics[topic].partitions)
        low, high = {}, {}
        for p in partitions:
            low[p], high[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        consumer.assign([TopicPartition(topic, p, low[p]) for p in partitions])
        entries: dict[int, list] = {p: [] for p in partitions}
        done = {p for p in partitions if low[p] >= high[p]}
        import time
        deadline = time.monotonic() + timeout_s
        while len(done) < len(partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"re-read of {topic} incomplete: {sorted(set(partitions) - done)}")
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            p = msg.partition()
            rec, reason = decode(msg.value())
            if rec is not None and rec[1] != p:
                rec, reason = None, "partition_mismatch"
            entries[p].append((msg.offset(), rec, reason))
            if msg.offset() + 1 >= high[p]:
                done.add(p)
        return Log(entries, low, high)
    finally:
        consumer.close()


@dataclass
class Counts:
    lost: int = 0
    expired: int = 0  # acked records below the log start, never present (see below_log_start)
    not_committed: dict = field(default_factory=collections.Counter)
    indeterminate: dict = field(default_factory=collections.Counter)
    recovered: int = 0
    failed_but_visible: int = 0
    duplicated: int = 0
    reordered: int = 0
    invalid: dict = field(default_factory=collections.Counter)
    unexpected: int = 0
    acked_offset_mismatches: int = 0
    acked: int = 0
    present: int = 0
    lost_records: list = field(default_factory=list)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["not_committed"] = dict(self.not_committed)
        d["indeterminate"] = dict(self.indeterminate)
        d["invalid"] = dict(self.invalid)
        d["lost_records"] = self.lost_records[:50]
        return d


def classify(journal: dict[tuple[int, int, int], Outcome], log: Log,
             start: dict[int, int] | None = None) -> Counts:
    """Classes from the final log. `start`: per partition, the offset below
    which acked records are not judged: where kcanary's verifier began to
    read, or (S6) the offset it had provably read up to before retention
    deleted what lay below."""
    start = start or {}
    c = Counts()
    where: dict[tuple[int, int, int], list[int]] = collections.defaultdict(list)
    at: dict[tuple[int, int], tuple[int, int, int] | None] = {}
    for p, entries in log.entries.items():
        max_seq: dict[int, int] = {}
        for offset, rec, reason in entries:
            at[(p, offset)] = rec
            if rec is None:
                c.invalid[reason] += 1
                continue
            first = rec not in where
            where[rec].append(offset)
            run, _, seq = rec
            if first and seq < max_seq.get(run, -1):
                c.reordered += 1
            max_seq[run] = max(max_seq.get(run, -1), seq)
    c.present = len(where)
    c.duplicated = sum(1 for offsets in where.values() if len(offsets) > 1)
    produced: dict[tuple[int, int], int] = collections.defaultdict(lambda: -1)
    for (run, p, seq) in journal:
        produced[(run, p)] = max(produced[(run, p)], seq)
    for rec in where:
        run, p, seq = rec
        if (run, p) in produced and seq > produced[(run, p)]:
            c.unexpected += 1
    for key, o in journal.items():
        run, p, seq = key
        seen = key in where
        if o.status == "PERSISTED":
            c.acked += 1
            if o.offset < start.get(p, 0):
                continue
            if o.offset < log.high.get(p, 0) and o.offset >= log.low.get(p, 0):
                if at.get((p, o.offset)) != key:
                    c.acked_offset_mismatches += 1
            if seen:
                continue
            if o.offset < log.low.get(p, 0):
                c.expired += 1
            else:
                c.lost += 1
                c.lost_records.append((f"{run:016x}", p, seq, o.offset))
        elif o.status == "NOT_PERSISTED":
            if seen:
                c.failed_but_visible += 1
            else:
                c.not_committed[o.error] += 1
        elif o.status == "POSSIBLY_PERSISTED":
            if seen:
                c.recovered += 1
            else:
                c.indeterminate[o.error] += 1
    return c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--journal", action="append", required=True)
    ap.add_argument("--start", action="append", default=[], help="PARTITION=OFFSET")
    args = ap.parse_args()
    start = {int(k): int(v) for k, v in (s.split("=") for s in args.start)}
    counts = classify(read_journal(args.journal), read_log(args.bootstrap, args.topic), start)
    json.dump(counts.as_dict(), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
