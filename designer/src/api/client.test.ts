import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, asApiError, onAuthFailure, setApiKey, streamUrl, toApiError } from "./client";

function respond(status: number, body: unknown, contentType = "application/json") {
  const fetchMock = vi.fn(async () => new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "Content-Type": contentType } }));
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

beforeEach(() => setApiKey(null));
afterEach(() => vi.unstubAllGlobals());

describe("toApiError", () => {
  it("reads the modserv envelope: message and field errors", () => {
    const e = toApiError(400, { code: 400, data: null, message: "The deploy request is invalid.", errors: [{ field: "resourceRequirements.memory", message: "bad quantity" }] }, "x");
    expect(e.status).toBe(400);
    expect(e.message).toBe("The deploy request is invalid.");
    expect(e.forField("resourceRequirements.memory")).toBe("bad quantity");
    expect(e.forField("memory")).toBe("bad quantity");
    expect(e.forField("cpu")).toBeUndefined();
  });

  it("reads problem details: detail, JSON paths and the step they concern", () => {
    const e = toApiError(400, { title: "The definition is invalid", detail: "$.root…: wrong", errors: [{ path: "$.root.activities[0].inputs.duration", message: "wrong", activityId: "wait" }] }, "x");
    expect(e.message).toBe("$.root…: wrong");
    expect(e.errors[0]).toEqual({ field: "$.root.activities[0].inputs.duration", message: "wrong", activityId: "wait" });
    expect(e.forField("duration")).toBe("wrong");
  });

  it("falls back to plain text or the given message", () => {
    expect(toApiError(500, "boom", "x").message).toBe("boom");
    expect(toApiError(500, "", "fallback").message).toBe("fallback");
    expect(asApiError(new Error("bug")).message).toBe("bug");
    expect(asApiError(new ApiError(409, "taken")).status).toBe(409);
  });
});

describe("api", () => {
  it("unwraps the envelope's data and sends the key as a bearer token", async () => {
    setApiKey("k-123");
    const fetchMock = respond(200, { code: 0, data: [{ serviceId: "a" }], message: null, errors: null });
    await expect(api("/api/v1/modserv")).resolves.toEqual([{ serviceId: "a" }]);
    const init = (fetchMock.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer k-123");
  });

  it("returns plain JSON as it is", async () => {
    respond(200, { valid: true, errors: [] });
    await expect(api("/api/v1/workflow-definitions/validate", { method: "POST", body: {} })).resolves.toEqual({ valid: true, errors: [] });
  });

  it("turns error answers into ApiError and tells listeners about a 401", async () => {
    const listener = vi.fn();
    const off = onAuthFailure(listener);
    respond(401, { title: "Authentication required", detail: "Send an API key." });
    const error = (await api("/api/v1/me").catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(401);
    expect(error.message).toBe("Send an API key.");
    expect(listener).toHaveBeenCalledWith(401);
    off();
  });

  it("says the server cannot be reached on a network failure or a proxy's 502", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    await expect(api("/api/v1/me")).rejects.toMatchObject({ status: 0, message: expect.stringContaining("cannot be reached") });
    respond(502, "", "text/plain");
    await expect(api("/api/v1/me")).rejects.toMatchObject({ status: 502, message: expect.stringContaining("cannot be reached") });
  });
});

describe("streamUrl", () => {
  it("adds the key as access_token only when signed in with one", () => {
    expect(streamUrl("/api/v1/events")).toBe("/api/v1/events");
    setApiKey("a b&c");
    expect(streamUrl("/api/v1/events")).toBe("/api/v1/events?access_token=a%20b%26c");
    expect(streamUrl("/x?follow=true")).toBe("/x?follow=true&access_token=a%20b%26c");
  });
});
