import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// A stand-in for the browser's EventSource: records instances so tests can play the server's part.
class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static all: FakeEventSource[] = [];
  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  listeners = new Map<string, ((e: MessageEvent) => void)[]>();
  constructor(public url: string) {
    FakeEventSource.all.push(this);
  }
  addEventListener(name: string, fn: (e: MessageEvent) => void) {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), fn]);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
  open() {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.();
  }
  emit(name: string, data: unknown, lastEventId = "") {
    this.listeners.get(name)?.forEach((fn) => fn(new MessageEvent(name, { data: JSON.stringify(data), lastEventId })));
  }
  drop(closed: boolean) {
    this.readyState = closed ? FakeEventSource.CLOSED : FakeEventSource.CONNECTING;
    this.onerror?.();
  }
}

let events: typeof import("./events");
// Streams left open by a test would still answer later tests' visibility changes: close them all.
let cleanups: (() => void)[] = [];
const keep = (off: () => void) => (cleanups.push(off), off);

beforeEach(async () => {
  FakeEventSource.all = [];
  vi.stubGlobal("EventSource", FakeEventSource);
  vi.resetModules(); // a fresh shared stream per test
  events = await import("./events");
});

afterEach(() => {
  cleanups.forEach((off) => off());
  cleanups = [];
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("the shared event stream", () => {
  it("opens one connection for many subscribers and closes it when the last one leaves", () => {
    const a = vi.fn();
    const b = vi.fn();
    const offA = events.subscribe("service", a);
    const offB = events.subscribe("step", b);
    expect(FakeEventSource.all).toHaveLength(1);
    const es = FakeEventSource.all[0];
    expect(es.url).toBe("/api/v1/events");
    es.open();
    es.emit("service", { serviceId: "s1" });
    expect(a).toHaveBeenCalledWith({ serviceId: "s1" });
    expect(b).not.toHaveBeenCalled();
    offA();
    expect(es.readyState).not.toBe(FakeEventSource.CLOSED);
    es.emit("service", { serviceId: "s2" });
    expect(a).toHaveBeenCalledTimes(1);
    offB();
    expect(es.readyState).toBe(FakeEventSource.CLOSED);
  });

  it("tells resync subscribers to refetch after the stream comes back, not on the first open", () => {
    const resync = vi.fn();
    keep(events.subscribe(events.RESYNC, resync));
    const es = FakeEventSource.all[0];
    es.open();
    expect(resync).not.toHaveBeenCalled();
    es.drop(false); // the browser reconnects by itself
    es.open();
    expect(resync).toHaveBeenCalledTimes(1);
  });

  it("resumes after the last event id instead of resyncing, and resyncs when the server says reset", () => {
    vi.useFakeTimers();
    const resync = vi.fn();
    const service = vi.fn();
    keep(events.subscribe(events.RESYNC, resync));
    keep(events.subscribe("service", service));
    FakeEventSource.all[0].open();
    FakeEventSource.all[0].emit("service", { serviceId: "s1" }, "41");
    FakeEventSource.all[0].drop(false); // the browser reconnects by itself, sending Last-Event-ID: 41
    FakeEventSource.all[0].open();
    expect(resync).not.toHaveBeenCalled();
    FakeEventSource.all[0].drop(true); // the browser gave up: a new connection resumes after 41
    vi.advanceTimersByTime(2_000);
    expect(FakeEventSource.all[1].url).toBe("/api/v1/events?afterSequence=41");
    FakeEventSource.all[1].open();
    expect(resync).not.toHaveBeenCalled();
    FakeEventSource.all[1].emit("reset", { requestedAfter: 41, latest: 90 }, "90");
    expect(resync).toHaveBeenCalledTimes(1);
    expect(service).toHaveBeenCalledTimes(1);
  });

  it("reconnects with backoff when the browser gives up, then resyncs", () => {
    vi.useFakeTimers();
    const resync = vi.fn();
    keep(events.subscribe(events.RESYNC, resync));
    FakeEventSource.all[0].open();
    FakeEventSource.all[0].drop(true);
    expect(FakeEventSource.all).toHaveLength(1);
    vi.advanceTimersByTime(2_000);
    expect(FakeEventSource.all).toHaveLength(2);
    FakeEventSource.all[1].open();
    expect(resync).toHaveBeenCalledTimes(1);
  });
});

describe("hidden tabs", () => {
  let hidden = false;
  beforeEach(() => {
    hidden = false;
    Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  });
  const setHidden = (h: boolean) => {
    hidden = h;
    document.dispatchEvent(new Event("visibilitychange"));
  };

  it("close their streams after the grace period and reopen them, resyncing, when shown", () => {
    vi.useFakeTimers();
    const resync = vi.fn();
    keep(events.subscribe(events.RESYNC, resync));
    FakeEventSource.all[0].open();
    setHidden(true);
    vi.advanceTimersByTime(events.HIDDEN_GRACE_MS - 1);
    expect(FakeEventSource.all[0].readyState).toBe(FakeEventSource.OPEN);
    vi.advanceTimersByTime(1);
    expect(FakeEventSource.all[0].readyState).toBe(FakeEventSource.CLOSED);
    setHidden(false);
    expect(FakeEventSource.all).toHaveLength(2);
    FakeEventSource.all[1].open();
    expect(resync).toHaveBeenCalledTimes(1);
  });

  it("keep their streams when shown again within the grace period", () => {
    vi.useFakeTimers();
    keep(events.subscribe("service", () => {}));
    FakeEventSource.all[0].open();
    setHidden(true);
    vi.advanceTimersByTime(events.HIDDEN_GRACE_MS / 2);
    setHidden(false);
    vi.advanceTimersByTime(events.HIDDEN_GRACE_MS);
    expect(FakeEventSource.all).toHaveLength(1);
    expect(FakeEventSource.all[0].readyState).toBe(FakeEventSource.OPEN);
  });
});

describe("openStream", () => {
  it("stops for good at the server's end event", () => {
    const onEnd = vi.fn();
    const onEvent = vi.fn();
    keep(events.openStream({ url: () => "/x", events: ["journal"], onEvent, onEnd }));
    const es = FakeEventSource.all[0];
    es.open();
    es.emit("journal", { sequence: 1 });
    expect(onEvent).toHaveBeenCalledWith("journal", { sequence: 1 }, "");
    es.emit("end", {});
    expect(onEnd).toHaveBeenCalled();
    expect(es.readyState).toBe(FakeEventSource.CLOSED);
  });
});
