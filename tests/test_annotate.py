"""Markers and metadata on the timeline: colours, names, ranges, idempotence."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from otio_avsync.annotate import annotate, clear, marker_color, marker_name
from otio_avsync.report import render_report, results_from_timeline
from otio_avsync.results import (
    BT1359,
    EBU_R37,
    AudioSource,
    ClipResult,
    Status,
    judge,
    parse_tolerance,
)


def _tl() -> tuple[otio.schema.Timeline, list[otio.schema.Clip]]:
    tl = otio.schema.Timeline(name="t")
    v = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    clips = []
    for i in range(3):
        c = otio.schema.Clip(
            name=f"c{i}",
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(1000 + 100 * i, 25), otio.opentime.RationalTime(50, 25)
            ),
        )
        v.append(c)
        clips.append(c)
    tl.tracks.append(v)
    return tl, clips


def _result(clip: otio.schema.Clip, status: Status, offset_ms: float | None = None) -> ClipResult:
    return ClipResult(
        clip_name=clip.name,
        status=status,
        message=f"{status.value} message",
        method="baseline",
        offset_ms=offset_ms,
        offset_frames=None if offset_ms is None else offset_ms * 25 / 1000,
        confidence=0.9,
        rate=25,
        audio_source=AudioSource(kind="sync_sound", track="A1"),
        span_start_s=0.0,
        span_duration_s=1.0,
        clip=clip,
        span_media_start=clip.source_range.start_time + otio.opentime.RationalTime(10, 25),
    )


def test_tolerances_and_judgement() -> None:
    assert BT1359.accepts(125) and BT1359.accepts(-45)
    assert not BT1359.accepts(126) and not BT1359.accepts(-46)
    assert EBU_R37.accepts(60) and not EBU_R37.accepts(61) and not EBU_R37.accepts(-41)
    assert parse_tolerance("ebu-r37") is EBU_R37
    custom = parse_tolerance("20,30")
    assert (custom.early_ms, custom.late_ms) == (20, 30)
    with pytest.raises(ValueError):
        parse_tolerance("lenient")
    with pytest.raises(ValueError):
        parse_tolerance("nan,5")
    assert judge(200, 0.9, BT1359) is Status.OUT_OF_SYNC
    assert judge(100, 0.9, BT1359) is Status.IN_SYNC
    assert judge(-100, 0.9, BT1359) is Status.OUT_OF_SYNC
    assert judge(200, 0.2, BT1359) is Status.UNCERTAIN
    assert judge(200, 0.9, BT1359, at_search_edge=True) is Status.UNCERTAIN
    assert judge(None, 0.9, BT1359) is Status.UNCERTAIN


def test_markers_colours_names_and_ranges() -> None:
    tl, (a, b, c) = _tl()
    results = [
        _result(a, Status.OUT_OF_SYNC, 120.0),
        _result(b, Status.IN_SYNC, 0.0),
        _result(c, Status.MEDIA_MISSING),
    ]
    annotate(tl, results, settings={})
    (ma,) = a.markers
    assert ma.name == "avsync +3f (+120 ms)"
    assert ma.color == otio.schema.MarkerColor.RED
    assert ma.comment == "out_of_sync message"
    # marked_range is in the clip's media time, inside its trimmed range, non-zero.
    assert ma.marked_range.start_time == otio.opentime.RationalTime(1010, 25)
    assert ma.marked_range.duration.to_seconds() == pytest.approx(1.0)
    assert b.markers[0].color == otio.schema.MarkerColor.GREEN
    assert c.markers[0].color == otio.schema.MarkerColor.ORANGE
    assert c.markers[0].name == "avsync media missing"
    assert c.markers[0].marked_range == c.trimmed_range()
    meta = a.metadata["otio_avsync"]
    for key in (
        "status",
        "offset_ms",
        "offset_frames",
        "confidence",
        "method",
        "audio_source",
        "windows",
        "tolerance_ms",
        "message",
    ):
        assert key in meta
    assert meta["offset_frames"] == 3.0
    assert tl.metadata["otio_avsync"]["summary"] == {
        "out_of_sync": 1,
        "in_sync": 1,
        "media_missing": 1,
    }
    assert marker_color(Status.UNCERTAIN) == otio.schema.MarkerColor.YELLOW


def test_rerun_replaces_own_markers_and_keeps_others() -> None:
    tl, (a, b, _c) = _tl()
    a.markers.append(otio.schema.Marker(name="editor note", color=otio.schema.MarkerColor.BLUE))
    a.metadata["other_tool"] = {"keep": True}
    for _ in range(3):
        annotate(
            tl,
            [_result(a, Status.OUT_OF_SYNC, 200.0), _result(b, Status.IN_SYNC, 0.0)],
            settings={},
        )
    assert [m.name for m in a.markers] == ["editor note", "avsync +5f (+200 ms)"]
    assert len(b.markers) == 1
    assert a.metadata["other_tool"] == {"keep": True}
    # Survives a round trip through .otio and is still recognised as ours.
    tl2 = otio.adapters.read_from_string(otio.adapters.write_to_string(tl))
    assert clear(tl2) == 2
    assert [m.name for m in tl2.find_clips()[0].markers] == ["editor note"]
    assert "otio_avsync" not in tl2.find_clips()[0].metadata


def test_several_sources_show_the_most_severe() -> None:
    tl, (a, _b, _c) = _tl()
    sync = _result(a, Status.IN_SYNC, 0.0)
    dub = _result(a, Status.OUT_OF_SYNC, 300.0)
    dub.audio_source = AudioSource(kind="track", track="A2", language="fra")
    annotate(tl, [sync, dub], settings={})
    assert len(a.markers) == 1 and a.markers[0].color == otio.schema.MarkerColor.RED
    meta = a.metadata["otio_avsync"]
    assert meta["status"] == "out_of_sync" and len(meta["sources"]) == 2
    rows = results_from_timeline(tl)
    assert [(r.status, r.audio_source.language) for r in rows] == [
        (Status.IN_SYNC, None),
        (Status.OUT_OF_SYNC, "fra"),
    ]


def test_reports_from_annotated_timeline() -> None:
    tl, (a, b, c) = _tl()
    annotate(
        tl,
        [
            _result(a, Status.OUT_OF_SYNC, 120.0),
            _result(b, Status.UNCERTAIN, 40.0),
            _result(c, Status.NO_AUDIO),
        ],
        settings={},
    )
    results = results_from_timeline(tl)
    assert marker_name(results[1]) == "avsync ? +1f (+40 ms)"
    csv_text = render_report(results, "csv")
    assert csv_text.splitlines()[0].startswith("clip,track,record_tc,status")
    assert len(csv_text.strip().splitlines()) == 4
    import json

    doc = json.loads(render_report(results, "json"))
    assert doc["flagged"] == 1 and doc["summary"]["no_audio"] == 1
    html = render_report(results, "html", title="<t>")
    # One card for each out-of-sync or uncertain clip.
    assert "&lt;t&gt;" in html and "c0" in html
    assert html.count('<article class="card s-out_of_sync"') == 1
    assert html.count('<article class="card s-uncertain"') == 1
    with pytest.raises(ValueError):
        render_report(results, "pdf")
