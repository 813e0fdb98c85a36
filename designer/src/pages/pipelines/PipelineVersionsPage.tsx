// Placeholder until this screen is written (issue #6, in progress).
export default function PipelineVersionsPage() {
  return <div className="state-box">PipelineVersionsPage</div>;
}
