import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { ActivityDescriptor, WorkflowDefinition } from "../../api/types";
import {
  addActivity,
  addConnection,
  autoLayout,
  checkActivityId,
  definitionToFlow,
  emptyDefinition,
  exportJson,
  flowToDefinition,
  idBase,
  parseDefinition,
  removeElements,
  renameActivity,
  uniqueId,
} from "./model";

const realFile = JSON.parse(readFileSync(resolve(__dirname, "../../../../workflows/opensourcellm.json"), "utf8")) as WorkflowDefinition;

const delay: ActivityDescriptor = {
  type: "ModelServeShim.Delay",
  version: 1,
  category: "Primitives",
  displayName: "Delay",
  description: "Waits.",
  inputs: [],
  outputs: [],
  outcomes: ["Done", "Failed"],
};

function sample(): WorkflowDefinition {
  return {
    definitionId: "t",
    name: "T",
    description: "d",
    version: 3,
    inputs: [{ name: "x", type: "string", required: true }],
    extra: { kept: true },
    root: {
      type: "Flowchart",
      activities: [
        {
          id: "a",
          type: "ModelServeShim.Delay",
          version: 1,
          displayName: "A",
          inputs: { duration: "{{ input.x }}" },
          retry: { maxAttempts: 3, delay: "2s", backoff: "linear", maxDelay: "10s", jitter: true },
          timeout: "1m",
          metadata: { designer: { position: { x: 10, y: 20 } }, other: "kept" },
        },
        { id: "b", type: "ModelServeShim.Log", metadata: { designer: { position: { x: 300, y: 20 } } } },
        { id: "c", type: "ModelServeShim.Fail", metadata: { designer: { position: { x: 300, y: 200 } } } },
      ],
      connections: [
        { source: { activity: "a", port: "Done" }, target: { activity: "b" } },
        { source: { activity: "a", port: "Failed" }, target: { activity: "c", port: "In" } },
        { source: { activity: "b" }, target: { activity: "c" } },
      ],
    },
  };
}

describe("definition ⇄ flow", () => {
  it("round-trips every field, including ports and unknown metadata", () => {
    const def = sample();
    const { nodes, edges } = definitionToFlow(def, { descriptors: [delay] });
    expect(flowToDefinition(def, nodes, edges)).toEqual(def);
  });

  it("round-trips the real opensourcellm.json unchanged", () => {
    const { nodes, edges } = definitionToFlow(realFile);
    expect(flowToDefinition(realFile, nodes, edges)).toEqual(realFile);
  });

  it("draws one handle per outcome, edges on their port, labels non-Done ports", () => {
    const { nodes, edges } = definitionToFlow(sample(), { descriptors: [delay], errors: { a: ["bad", "worse"] }, selectedId: "a" });
    expect(nodes[0].data.ports).toEqual(["Done", "Failed"]);
    expect(nodes[0].data.errorCount).toBe(2);
    expect(nodes[0].selected).toBe(true);
    expect(nodes[0].position).toEqual({ x: 10, y: 20 });
    expect(edges.map((e) => [e.source, e.sourceHandle, e.target, e.label])).toEqual([
      ["a", "Done", "b", undefined],
      ["a", "Failed", "c", "Failed"],
      ["b", "Done", "c", undefined],
    ]);
  });

  it("adds a handle for a port a connection uses that the descriptor lacks", () => {
    const def = sample();
    def.root.connections.push({ source: { activity: "a", port: "DryRun" }, target: { activity: "b" } });
    const { nodes } = definitionToFlow(def, { descriptors: [delay] });
    expect(nodes[0].data.ports).toEqual(["Done", "Failed", "DryRun"]);
  });

  it("lays out steps without positions and writes the positions back", () => {
    const def = sample();
    for (const a of def.root.activities) delete a.metadata;
    const { nodes, edges } = definitionToFlow(def);
    expect(nodes[0].position.x).toBeLessThan(nodes[1].position.x);
    const back = flowToDefinition(def, nodes, edges);
    expect(back.root.activities[1].metadata?.designer?.position).toEqual(nodes[1].position);
  });

  it("turns a new edge into a connection with its source port", () => {
    const def = sample();
    const { nodes, edges } = definitionToFlow(def);
    const back = flowToDefinition(def, nodes, [...edges, { id: "new", source: "b", sourceHandle: "Failed", target: "a" }]);
    expect(back.root.connections[3]).toEqual({ source: { activity: "b", port: "Failed" }, target: { activity: "a" } });
  });
});

describe("ids", () => {
  it("derives kebab-case bases from types", () => {
    expect(idBase("ModelServeShim.Delay")).toBe("delay");
    expect(idBase("ModelServeShim.Llm.HealthCheck")).toBe("health-check");
    expect(idBase("ModelServeShim.HttpRequest")).toBe("http-request");
    expect(idBase("X.LLMRouter")).toBe("llm-router");
  });

  it("generates the first free id", () => {
    expect(uniqueId("ModelServeShim.Delay", [])).toBe("delay-1");
    expect(uniqueId("ModelServeShim.Delay", ["delay-1"])).toBe("delay-2");
    expect(uniqueId("ModelServeShim.Delay", ["delay-1", "delay-3"])).toBe("delay-2");
  });

  it("adds steps with unique ids and positions", () => {
    let def = emptyDefinition();
    const r1 = addActivity(def, delay, { x: 1.4, y: 2.6 });
    def = r1.definition;
    const r2 = addActivity(def, delay, { x: 100, y: 0 });
    expect([r1.id, r2.id]).toEqual(["delay-1", "delay-2"]);
    expect(r2.definition.root.activities[0]).toEqual({
      id: "delay-1",
      type: "ModelServeShim.Delay",
      displayName: "Delay",
      inputs: {},
      metadata: { designer: { position: { x: 1, y: 3 } } },
    });
  });

  it("checks ids", () => {
    const def = sample();
    expect(checkActivityId(def, "a", "a")).toBeNull();
    expect(checkActivityId(def, "a", "b")).toMatch(/already/);
    expect(checkActivityId(def, "a", "Bad Id")).toMatch(/lower-case/);
    expect(checkActivityId(def, "a", "")).toMatch(/required/);
  });

  it("renames a step and its connections, keeping ports", () => {
    const def = renameActivity(sample(), "a", "start");
    expect(def.root.activities[0].id).toBe("start");
    expect(def.root.connections).toEqual([
      { source: { activity: "start", port: "Done" }, target: { activity: "b" } },
      { source: { activity: "start", port: "Failed" }, target: { activity: "c", port: "In" } },
      { source: { activity: "b" }, target: { activity: "c" } },
    ]);
    const c = renameActivity(sample(), "c", "end");
    expect(c.root.connections[1].target).toEqual({ activity: "end", port: "In" });
  });
});

describe("edits", () => {
  it("removes steps with their connections, and connections by index", () => {
    const def = removeElements(sample(), ["b"]);
    expect(def.root.activities.map((a) => a.id)).toEqual(["a", "c"]);
    expect(def.root.connections).toHaveLength(1);
    expect(removeElements(sample(), [], [0, 2]).root.connections.map((c) => c.source.port)).toEqual(["Failed"]);
  });

  it("adds connections with an explicit source port, no duplicates, no self loops", () => {
    const def = addConnection(sample(), "c", "Done", "b");
    expect(def.root.connections[3]).toEqual({ source: { activity: "c", port: "Done" }, target: { activity: "b" } });
    expect(addConnection(def, "c", "Done", "b")).toBe(def);
    expect(addConnection(def, "b", null, "c")).toBe(def); // b→c (Done) exists without a port
    expect(addConnection(def, "a", "Done", "a")).toBe(def);
  });

  it("auto-layout writes positions left to right", () => {
    const def = autoLayout(sample());
    const x = def.root.activities.map((a) => a.metadata!.designer!.position!.x);
    expect(x[0]).toBeLessThan(x[1]);
    expect(def.root.activities[0].metadata?.other).toBe("kept");
  });
});

describe("import/export", () => {
  it("parses definitions and reports what is wrong", () => {
    expect("definition" in parseDefinition(JSON.stringify(realFile))).toBe(true);
    expect(parseDefinition("{nope")).toEqual({ error: expect.stringMatching(/^Not valid JSON/) });
    expect(parseDefinition("[]")).toEqual({ error: "The JSON is not an object." });
    expect(parseDefinition('{"definitionId":"x"}')).toEqual({ error: 'The JSON has no "root.activities" array.' });
    expect(parseDefinition('{"definitionId":"x","root":{"activities":[{"id":"a"}]}}')).toEqual({
      error: 'root.activities[0] needs an "id" and a "type".',
    });
    const ok = parseDefinition('{"definitionId":"x","root":{"type":"Flowchart","activities":[]}}');
    expect("definition" in ok && ok.definition.root.connections).toEqual([]);
  });

  it("exports without the server's version", () => {
    const text = exportJson(sample());
    expect(JSON.parse(text).version).toBeUndefined();
    expect(JSON.parse(text).definitionId).toBe("t");
  });
});
