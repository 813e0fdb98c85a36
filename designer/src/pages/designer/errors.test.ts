import { describe, expect, it } from "vitest";
import type { WorkflowDefinition } from "../../api/types";
import { definitionFieldErrors, errorsByActivity, fieldErrors, mapError, mapErrors } from "./errors";

const def: WorkflowDefinition = {
  definitionId: "t",
  name: "T",
  root: {
    type: "Flowchart",
    activities: [
      { id: "one", type: "X" },
      { id: "two", type: "X" },
      { id: "three", type: "X" },
      { id: "four", type: "X" },
    ],
    connections: [{ source: { activity: "two", port: "Done" }, target: { activity: "three" } }],
  },
};

describe("mapError", () => {
  it("resolves an activity index to its id and the rest to a field", () => {
    expect(mapError({ path: "$.root.activities[3].inputs.url", message: "m" }, def)).toEqual({
      path: "$.root.activities[3].inputs.url",
      message: "m",
      activityId: "four",
      field: "inputs.url",
    });
    expect(mapError({ path: "$.root.activities[1].retry.maxAttempts", message: "m" }, def).field).toBe("retry.maxAttempts");
    expect(mapError({ path: "$.root.activities[1].timeout", message: "m" }, def).field).toBe("timeout");
    expect(mapError({ path: "$.root.activities[2]", message: "unreachable" }, def)).toMatchObject({ activityId: "three", field: "" });
  });

  it("prefers the server's activityId (the step may have moved since)", () => {
    expect(mapError({ path: "$.root.activities[0].type", message: "m", activityId: "two" }, def).activityId).toBe("two");
  });

  it("accepts the client's `field` spelling of the path", () => {
    expect(mapError({ field: "$.root.activities[0].id", message: "m" }, def)).toMatchObject({ activityId: "one", field: "id" });
  });

  it("attributes connection problems to the source step", () => {
    expect(mapError({ path: "$.root.connections[0].source.port", message: "m" }, def)).toMatchObject({
      activityId: "two",
      field: "root.connections[0].source.port",
    });
  });

  it("keeps definition-level problems unattached", () => {
    expect(mapError({ path: "$.definitionId", message: "m" }, def)).toMatchObject({ activityId: null, field: "definitionId" });
    expect(mapError({ path: "$", message: "bad json" }, null)).toMatchObject({ activityId: null, field: "" });
    expect(mapError({ path: "$.root.activities[9].type", message: "m" }, def).activityId).toBeNull();
  });
});

describe("grouping", () => {
  const errors = mapErrors(
    [
      { path: "$.root.activities[0].inputs.url", message: "a" },
      { path: "$.root.activities[0].inputs.url", message: "b" },
      { path: "$.root.activities[0]", message: "c" },
      { path: "$.root.activities[1].timeout", message: "d" },
      { path: "$.inputs[0].name", message: "e" },
      { path: "$.name", message: "f" },
    ],
    def,
  );

  it("counts per activity", () => {
    expect(errorsByActivity(errors)).toEqual({ one: ["a", "b", "c"], two: ["d"] });
  });

  it("finds a field's messages", () => {
    expect(fieldErrors(errors, "one", "inputs.url")).toEqual(["a", "b"]);
    expect(fieldErrors(errors, "one", "")).toEqual(["c"]);
    expect(fieldErrors(errors, "two", "inputs.url")).toEqual([]);
    expect(definitionFieldErrors(errors, "inputs")).toEqual(["e"]);
    expect(definitionFieldErrors(errors, "name")).toEqual(["f"]);
  });
});
