// Placeholder until this screen is written (issue #6, in progress).
export default function DesignerPage() {
  return <div className="state-box">DesignerPage</div>;
}
