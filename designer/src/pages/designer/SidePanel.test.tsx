import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ActivityDescriptor, WorkflowDefinition } from "../../api/types";
import { mapErrors } from "./errors";
import { DefinitionPanel, ErrorList, StepPanel } from "./SidePanel";

afterEach(cleanup);

const descriptor: ActivityDescriptor = {
  type: "ModelServeShim.Test",
  version: 1,
  category: "Primitives",
  displayName: "Test",
  description: "A test activity.",
  inputs: [
    { name: "url", type: "string", options: null, required: true, default: null, description: "Where to go.", uiHint: null },
    { name: "count", type: "integer", options: null, required: false, default: 3, description: "How many.", uiHint: null },
    { name: "enabled", type: "boolean", options: null, required: false, default: false, description: "On or off.", uiHint: null },
    { name: "level", type: "enum", options: ["Debug", "Error"], required: false, default: "Debug", description: "Level.", uiHint: "dropdown" },
    { name: "wait", type: "duration", options: null, required: false, default: "5s", description: "Pause.", uiHint: null },
    { name: "spec", type: "object", options: null, required: false, default: null, description: "A spec.", uiHint: "json" },
  ],
  outputs: [],
  outcomes: ["Done", "Failed"],
};

function def(): WorkflowDefinition {
  return {
    definitionId: "p",
    name: "P",
    root: {
      type: "Flowchart",
      activities: [
        { id: "first", type: "ModelServeShim.Test", inputs: { url: "{{ input.url }}" }, retry: { maxAttempts: 2 } },
        { id: "second", type: "ModelServeShim.Test" },
      ],
      connections: [{ source: { activity: "first", port: "Done" }, target: { activity: "second" } }],
    },
  };
}

function renderStep(onChange = vi.fn(), onRename = vi.fn(), errors = [] as ReturnType<typeof mapErrors>) {
  const d = def();
  render(
    <StepPanel
      definition={d}
      activity={d.root.activities[0]}
      descriptor={descriptor}
      errors={errors}
      readOnly={false}
      onChange={onChange}
      onRename={onRename}
      onDelete={() => {}}
    />,
  );
  return { onChange, onRename };
}

describe("StepPanel", () => {
  it("renders an editor per input type with defaults as placeholders and help text", () => {
    renderStep();
    expect((screen.getByLabelText("url") as HTMLInputElement).value).toBe("{{ input.url }}");
    expect(screen.getByLabelText("count")).toHaveProperty("placeholder", "3");
    expect(screen.getByLabelText("wait")).toHaveProperty("placeholder", "5s");
    expect(screen.getByLabelText("enabled")).toHaveProperty("type", "checkbox");
    const level = screen.getByLabelText("level") as HTMLSelectElement;
    expect(level.tagName).toBe("SELECT");
    expect([...level.options].map((o) => o.textContent)).toEqual(["(default: Debug)", "Debug", "Error"]);
    expect(screen.getByLabelText("spec").tagName).toBe("TEXTAREA");
    expect(screen.getByText("Where to go.")).toBeTruthy();
    expect(screen.getByText(/Pause\. A duration such as/)).toBeTruthy();
    expect((screen.getByLabelText("Max attempts") as HTMLInputElement).value).toBe("2");
    expect(screen.getByLabelText("Backoff")).toBeTruthy();
    expect(screen.getByLabelText("Timeout")).toBeTruthy();
  });

  it("shows a server error under the field its path names", () => {
    const d = def();
    const errors = mapErrors(
      [
        { path: "$.root.activities[0].inputs.wait", message: "Input 'wait' has the wrong type", activityId: "first" },
        { path: "$.root.activities[0].retry.maxAttempts", message: "maxAttempts is 0" },
      ],
      d,
    );
    renderStep(vi.fn(), vi.fn(), errors);
    const wait = screen.getByLabelText("wait");
    expect(wait.getAttribute("aria-invalid")).toBe("true");
    expect(wait.closest(".field")!.textContent).toContain("Input 'wait' has the wrong type");
    expect(screen.getByLabelText("Max attempts").closest(".field")!.textContent).toContain("maxAttempts is 0");
    expect(screen.getByLabelText("url").closest(".field")!.textContent).not.toContain("wrong type");
  });

  it("stores typed values: numbers as numbers, templates as strings, cleared values removed", () => {
    const { onChange } = renderStep();
    fireEvent.change(screen.getByLabelText("count"), { target: { value: "7" } });
    expect(onChange.mock.lastCall![0].root.activities[0].inputs).toEqual({ url: "{{ input.url }}", count: 7 });
    fireEvent.change(screen.getByLabelText("count"), { target: { value: "{{ input.n }}" } });
    expect(onChange.mock.lastCall![0].root.activities[0].inputs.count).toBe("{{ input.n }}");
    fireEvent.change(screen.getByLabelText("url"), { target: { value: "" } });
    expect(onChange.mock.lastCall![0].root.activities[0].inputs).toEqual({});
    fireEvent.click(screen.getByLabelText("enabled"));
    expect(onChange.mock.lastCall![0].root.activities[0].inputs.enabled).toBe(true);
    fireEvent.change(screen.getByLabelText("level"), { target: { value: "Error" } });
    expect(onChange.mock.lastCall![0].root.activities[0].inputs.level).toBe("Error");
  });

  it("checks JSON and numbers locally before storing them", () => {
    const { onChange } = renderStep();
    fireEvent.change(screen.getByLabelText("spec"), { target: { value: "{ nope" } });
    expect(screen.getByText(/Not valid JSON/)).toBeTruthy();
    expect(onChange).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText("spec"), { target: { value: '{"a": 1}' } });
    expect(onChange.mock.lastCall![0].root.activities[0].inputs.spec).toEqual({ a: 1 });
    fireEvent.change(screen.getByLabelText("count"), { target: { value: "abc" } });
    expect(screen.getByText(/Enter a whole number/)).toBeTruthy();
  });

  it("renames on commit and refuses a taken id", () => {
    const { onRename } = renderStep();
    const id = screen.getByLabelText("Step id");
    fireEvent.change(id, { target: { value: "second" } });
    fireEvent.blur(id);
    expect(onRename).not.toHaveBeenCalled();
    expect(screen.getByText(/already called 'second'/)).toBeTruthy();
    fireEvent.change(id, { target: { value: "start" } });
    fireEvent.keyDown(id, { key: "Enter" });
    expect(onRename).toHaveBeenCalledWith("first", "start");
  });

  it("drops an emptied retry object", () => {
    const { onChange } = renderStep();
    fireEvent.change(screen.getByLabelText("Max attempts"), { target: { value: "" } });
    expect(onChange.mock.lastCall![0].root.activities[0]).not.toHaveProperty("retry");
  });
});

describe("DefinitionPanel and ErrorList", () => {
  it("edits the definition's id and name and shows their errors", () => {
    const onChange = vi.fn();
    const d = def();
    render(<DefinitionPanel definition={d} errors={mapErrors([{ path: "$.definitionId", message: "Bad id" }], d)} readOnly={false} onChange={onChange} />);
    expect((screen.getByLabelText("Definition id") as HTMLInputElement).value).toBe("p");
    expect(screen.getByText("Bad id")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "New name" } });
    expect(onChange.mock.lastCall![0].name).toBe("New name");
    fireEvent.change(screen.getByLabelText("Declared inputs"), { target: { value: "[oops" } });
    expect(screen.getByText(/Not valid JSON/)).toBeTruthy();
  });

  it("lists problems and selects the step of the clicked one", () => {
    const onSelect = vi.fn();
    render(<ErrorList errors={mapErrors([{ path: "$.root.activities[1].timeout", message: "Bad timeout" }], def())} onSelect={onSelect} />);
    fireEvent.click(screen.getByText("Bad timeout"));
    expect(onSelect).toHaveBeenCalledWith("second");
  });
});
