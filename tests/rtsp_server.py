"""A small RTSP server for tests: serves one H.264 MP4 at rtsp://127.0.0.1:PORT/MOUNT.

Runs under Debian's /usr/bin/python3 (GStreamer's Python bindings, python3-gi and
gir1.2-gst-rtsp-server-1.0), not senri's virtualenv, so a test can kill it, stop it and start
it again on the same port like a real camera server. Packets go out as they are in the file
(qtdemux ! rtph264pay): nothing is decoded or encoded. Each client gets its own playback from
the file's start, in real time; at the file's end the server ends the stream (RTCP BYE).

    /usr/bin/python3 tests/rtsp_server.py --port 8554 --file cam.mp4 [--mount /cam] [--burst 3]

Signals: SIGUSR1 takes the mount away and drops its clients (a publisher that stops: clients
then get 404), SIGUSR2 puts it back, SIGTERM/SIGINT quit. With ``--burst S`` each client first
gets S seconds of video at once and then stays S seconds ahead, as a camera with a buffer does;
with ``--latency S`` every packet leaves S seconds after its time, as from a camera whose encoder
and network lag, while its RTCP sender reports still tell each picture's own time.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def _factory(path: str, burst: float, latency: float = 0.0) -> Any:
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{path}" ! qtdemux ! rtph264pay name=pay0 pt=96 config-interval=-1 )'
    )
    factory.set_shared(False)
    if burst > 0 or latency > 0:
        factory.connect("media-configure", _shifted, int((latency - burst) * Gst.SECOND))
    return factory


def _shifted(_factory: Any, media: Any, offset: int) -> None:
    """Make the media's sinks send every buffer `offset` ns after its time (before it when
    negative: a camera buffer).

    The server adds a client's sinks only when it sets up its transport, so they get the
    offset as they join the pipeline."""

    def added(_pipeline: Any, _bin: Any, element: Any) -> None:
        if isinstance(element, Gst.Element) and element.get_factory().get_name().endswith("sink"):
            element.set_property("ts-offset", offset)

    media.get_element().get_parent().connect("deep-element-added", added)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", required=True, help="an H.264 MP4")
    parser.add_argument("--mount", default="/cam")
    parser.add_argument("--burst", type=float, default=0.0, help="seconds sent at once")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each packet lags")
    args = parser.parse_args(argv)

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    mounts.add_factory(args.mount, _factory(args.file, args.burst, args.latency))
    loop = GLib.MainLoop()

    def unpublish() -> bool:
        mounts.remove_factory(args.mount)
        server.client_filter(lambda *_: GstRtspServer.RTSPFilterResult.REMOVE)
        print("unpublished", flush=True)
        return GLib.SOURCE_CONTINUE

    def publish() -> bool:
        mounts.add_factory(args.mount, _factory(args.file, args.burst, args.latency))
        print("published", flush=True)
        return GLib.SOURCE_CONTINUE

    def quit_() -> bool:
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, unpublish)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2, publish)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, quit_)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    print(f"serving rtsp://127.0.0.1:{args.port}{args.mount}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
