import { describe, expect, it } from "vitest";
import { formatValue, isReference, parseInputText } from "./fields";

describe("typed references in the step editor", () => {
  it("recognises only objects of from and default as references", () => {
    expect(isReference({ from: "$.input.a" })).toBe(true);
    expect(isReference({ from: "$.input.a", default: null })).toBe(true);
    expect(isReference({ from: "$.input.a", other: 1 })).toBe(false);
    expect(isReference({ cpu: "4" })).toBe(false);
    expect(isReference("$.input.a")).toBe(false);
  });

  it("shows a reference as its path, with ?? and the default as JSON", () => {
    expect(formatValue({ from: "$.input.modelFile" })).toBe("$.input.modelFile");
    expect(formatValue({ from: "$.input.resourceRequirements.acceleratorType", default: null })).toBe("$.input.resourceRequirements.acceleratorType ?? null");
    expect(formatValue({ from: "$.input.x", default: { a: 1 } })).toBe('$.input.x ?? {"a":1}');
  });

  it("stores typed path text as a reference in inputs of any type, and round-trips", () => {
    for (const type of ["string", "integer", "boolean", "object", "duration"]) {
      expect(parseInputText(type, "$.input.resourceRequirements.contextLength ?? 0")).toEqual({
        value: { from: "$.input.resourceRequirements.contextLength", default: 0 },
      });
    }
    const value = { from: "$.steps.model-validation.output.modelPath" };
    expect(parseInputText("string", formatValue(value))).toEqual({ value });
    const withDefault = { from: "$.input.labels", default: { team: "ml" } };
    expect(parseInputText("object", formatValue(withDefault))).toEqual({ value: withDefault });
  });

  it("names the problem with a bad reference instead of storing text", () => {
    expect(parseInputText("integer", "$.variables.x")).toHaveProperty("error");
    expect(parseInputText("integer", "$.input.x ?? zero")).toEqual({ error: expect.stringContaining("must be JSON") });
  });

  it("keeps plain text, numbers and templates as before", () => {
    expect(parseInputText("string", "hello")).toEqual({ value: "hello" });
    expect(parseInputText("integer", "12")).toEqual({ value: 12 });
    expect(parseInputText("integer", "{{ input.n }}")).toEqual({ value: "{{ input.n }}" });
  });
});
