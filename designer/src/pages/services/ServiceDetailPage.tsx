// Placeholder until this screen is written (issue #6, in progress).
export default function ServiceDetailPage() {
  return <div className="state-box">ServiceDetailPage</div>;
}
