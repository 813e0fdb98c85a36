// Placeholder until this screen is written (issue #6, in progress).
export default function DeployPage() {
  return <div className="state-box">DeployPage</div>;
}
