"""The ground-truth checker itself: hand-built logs, and a cross-check against
a live embedded kcanary run (its records decode, every acked one is found)."""
import os
import re
import signal
import struct
import subprocess
import tempfile
import time
import zlib

import pytest

import ground_truth as gt

RUN = 0xA1


def encode(run, partition, seq, padding=b""):
    """A minimal protobuf body, written here by hand (no shared code)."""
    def varint(v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            out.append(b | (0x80 if v else 0))
            if not v:
                return bytes(out)
    body = b"\x09" + struct.pack("<Q", run) + b"\x10" + varint(partition) + b"\x18" + varint(seq)
    if padding:
        body += b"\x7a" + varint(len(padding)) + padding
    return b"KCNY\x01" + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF) + body


def test_decode_roundtrip_and_reasons():
    assert gt.decode(encode(RUN, 3, 42, b"\0" * 10)) == ((RUN, 3, 42), None)
    assert gt.decode(b"") == (None, "too_short")
    assert gt.decode(b"hello world!") == (None, "bad_magic")
    v = bytearray(encode(RUN, 0, 1))
    v[4] = 2
    assert gt.decode(bytes(v)) == (None, "unknown_version")
    v = bytearray(encode(RUN, 0, 1))
    v[-1] ^= 1
    assert gt.decode(bytes(v)) == (None, "bad_checksum")
    body = b"\xff\xff\xff"
    assert gt.decode(b"KCNY\x01" + struct.pack(">I", zlib.crc32(body)) + body) == (None, "undecodable")


def log_of(entries, low=0):
    high = max((o for o, _, _ in entries), default=-1) + 1
    return gt.Log({0: entries}, {0: low}, {0: high})


def ack(seq, offset):
    return (RUN, 0, seq), gt.Outcome("PERSISTED", offset, "")


def test_unclean_election_example():
    # Final log: seqs 1-80 at 0-79, then 101-120 at 80-99 (81-100 vanished).
    entries = [(o, (RUN, 0, o + 1), None) for o in range(80)]
    entries += [(80 + i, (RUN, 0, 101 + i), None) for i in range(20)]
    journal = dict(ack(s, s - 1) for s in range(1, 101))
    journal.update(ack(101 + i, 80 + i) for i in range(20))
    c = gt.classify(journal, log_of(entries))
    assert c.lost == 20
    assert c.acked_offset_mismatches == 20
    assert c.duplicated == 0 and c.reordered == 0


def test_failures_duplicates_reorders_expiry():
    entries = [(0, (RUN, 0, 0), None), (1, (RUN, 0, 2), None), (2, (RUN, 0, 1), None),
               (3, (RUN, 0, 2), None), (4, None, "bad_magic"), (5, (RUN, 0, 4), None)]
    journal = {
        (RUN, 0, 0): gt.Outcome("PERSISTED", 0, ""),
        (RUN, 0, 1): gt.Outcome("PERSISTED", 2, ""),
        (RUN, 0, 2): gt.Outcome("PERSISTED", 3, ""),
        (RUN, 0, 3): gt.Outcome("NOT_PERSISTED", -1, "MSG_SIZE_TOO_LARGE"),
        (RUN, 0, 4): gt.Outcome("POSSIBLY_PERSISTED", -1, "REQUEST_TIMED_OUT"),
        (RUN, 0, 5): gt.Outcome("POSSIBLY_PERSISTED", -1, "REQUEST_TIMED_OUT"),
    }
    c = gt.classify(journal, log_of(entries))
    assert c.reordered == 1          # seq 1 after seq 2
    assert c.duplicated == 1         # seq 2 at offsets 1 and 3
    assert c.invalid == {"bad_magic": 1}
    assert c.not_committed == {"MSG_SIZE_TOO_LARGE": 1}
    assert c.recovered == 1 and c.indeterminate == {"REQUEST_TIMED_OUT": 1}
    assert c.lost == 0
    expired = gt.classify({(RUN, 0, 9): gt.Outcome("PERSISTED", 0, "")}, log_of([], low=5))
    assert expired.expired == 1 and expired.lost == 0


def test_journal_ack_wins_and_torn_lines_are_skipped(tmp_path):
    j = tmp_path / "j"
    j.write_text("00000000000000a1 0 7 PERSISTED 12 -\n"
                 "00000000000000a1 0 7 POSSIBLY_PERSISTED -1 canary_restart\n"
                 "00000000000000a1 0 8 POSSIBLY_PERSISTED -1 canary_restart\n"
                 "00000000000000a1 0 9 PERS")
    out = gt.read_journal([str(j)])
    assert out[(RUN, 0, 7)].status == "PERSISTED"
    assert out[(RUN, 0, 8)].error == "canary_restart"
    assert (RUN, 0, 9) not in out


KCANARY = os.environ.get("KCANARY_BIN", os.path.join(os.path.dirname(__file__), "../../build/app/kcanary"))


@pytest.mark.skipif(not os.path.exists(KCANARY), reason="kcanary not built")
def test_cross_check_with_embedded_run():
    with tempfile.TemporaryDirectory() as d:
        journal = os.path.join(d, "journal")
        proc = subprocess.Popen(
            [KCANARY, "run", "--state-dir", os.path.join(d, "state"), "--listen", "none",
             "--rate", "200", "--partitions", "3", "--delivery-journal", journal],
            stderr=subprocess.PIPE, text=True)
        try:
            bootstrap = None
            deadline = time.monotonic() + 20
            while bootstrap is None and time.monotonic() < deadline:
                line = proc.stderr.readline()
                m = re.search(r"partitions at ([0-9.:,]+)\)", line)
                if m:
                    bootstrap = m.group(1)
            assert bootstrap, "embedded cluster address not logged"
            time.sleep(3)
            # Journal first, log second: every ack read is for a record the
            # later re-read must contain (the mock cluster lives in kcanary,
            # so it keeps running).
            outcomes = gt.read_journal([journal])
            log = gt.read_log(bootstrap, "kcanary", timeout_s=30)
            c = gt.classify(outcomes, log)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        assert c.acked > 500
        assert c.present >= c.acked
        assert c.lost == 0 and c.duplicated == 0 and c.reordered == 0 and not c.invalid
