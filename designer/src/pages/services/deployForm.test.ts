import { describe, expect, it } from "vitest";
import { buildDeployBody, declaresQuantization, emptyForm, formKeyFor, mapFieldErrors, validate, type DeployForm } from "./deployForm";

const filled: DeployForm = { ...emptyForm, modelName: "qwen", modelFile: "/m/q.gguf" };

describe("buildDeployBody", () => {
  it("sends only what was filled", () => {
    expect(buildDeployBody(filled, { quantization: false })).toEqual({
      modelName: "qwen",
      modelFile: "/m/q.gguf",
      resourceRequirements: { acceleratorCount: 0 },
    });
  });
  it("sends every filled field with numbers, labels and quantization", () => {
    const body = buildDeployBody(
      {
        ...filled,
        acceleratorType: "H20",
        acceleratorCount: "2",
        cpu: "4",
        memory: "16Gi",
        contextLength: "32768",
        concurrentSequences: "2",
        replicaCount: "3",
        shimlet: "k8s",
        pipeline: "quant-llm",
        runtime: "llama-cpp",
        namespace: "ml",
        labels: [{ key: "team", value: "nlp" }, { key: " ", value: "" }],
        dryRun: true,
        verifyChecksums: true,
        quantization: "q4_k_m",
      },
      { quantization: true },
    );
    expect(body).toEqual({
      modelName: "qwen",
      modelFile: "/m/q.gguf",
      resourceRequirements: { acceleratorType: "H20", acceleratorCount: 2, cpu: "4", memory: "16Gi", contextLength: 32768, concurrentSequences: 2 },
      replicaCount: 3,
      shimlet: "k8s",
      pipeline: "quant-llm",
      runtime: "llama-cpp",
      namespace: "ml",
      labels: { team: "nlp" },
      dryRun: true,
      verifyChecksums: true,
      quantization: { type: "q4_k_m" },
    });
  });
  it("leaves quantization out when the pipeline does not declare it", () => {
    expect(buildDeployBody({ ...filled, quantization: "q8_0" }, { quantization: false })).not.toHaveProperty("quantization");
  });
});

describe("validate", () => {
  it("requires name and file", () => {
    expect(validate(emptyForm, { quantization: false })).toMatchObject({ modelName: expect.any(String), modelFile: expect.any(String) });
    expect(validate(filled, { quantization: false })).toEqual({});
  });
  it("checks counts, label keys and a required quantization", () => {
    const errors = validate({ ...filled, acceleratorCount: "-1", replicaCount: "1.5", labels: [{ key: "", value: "x" }] }, { quantization: true });
    expect(Object.keys(errors).sort()).toEqual(["acceleratorCount", "labels", "quantization", "replicaCount"]);
    expect(validate({ ...filled, labels: [{ key: "a", value: "1" }, { key: "a", value: "2" }] }, { quantization: false }).labels).toMatch(/unique/);
    expect(Object.keys(validate({ ...filled, contextLength: "0", concurrentSequences: "1.5" }, { quantization: false })).sort()).toEqual(["concurrentSequences", "contextLength"]);
  });
});

describe("server field errors", () => {
  it("maps JSON paths to inputs", () => {
    expect(formKeyFor("modelName")).toBe("modelName");
    expect(formKeyFor("resourceRequirements.memory")).toBe("memory");
    expect(formKeyFor("$.resourceRequirements.acceleratorCount")).toBe("acceleratorCount");
    expect(formKeyFor("quantization.type")).toBe("quantization");
    expect(formKeyFor("labels.team")).toBe("labels");
    expect(formKeyFor("memory")).toBe("memory");
    expect(formKeyFor("resourceRequirements.contextLength")).toBe("contextLength");
    expect(formKeyFor("verifyChecksums")).toBe("verifyChecksums");
    expect(formKeyFor("somethingElse")).toBeNull();
  });
  it("keeps the first message per input and the rest for the top", () => {
    const { byField, other } = mapFieldErrors([
      { field: "modelFile", message: "not found" },
      { field: "modelFile", message: "second" },
      { field: "resourceRequirements.memory", message: "bad quantity" },
      { field: "$", message: "whole body" },
    ]);
    expect(byField).toEqual({ modelFile: "not found", memory: "bad quantity" });
    expect(other).toEqual([{ field: "$", message: "whole body" }]);
  });
  it("detects a declared quantization input", () => {
    expect(declaresQuantization([{ name: "modelName" }, { name: "quantization" }])).toBe(true);
    expect(declaresQuantization([{ name: "modelName" }])).toBe(false);
    expect(declaresQuantization(undefined)).toBe(false);
  });
});
