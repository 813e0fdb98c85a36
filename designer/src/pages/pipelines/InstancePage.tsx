// Placeholder until this screen is written (issue #6, in progress).
export default function InstancePage() {
  return <div className="state-box">InstancePage</div>;
}
