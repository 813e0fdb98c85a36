// Placeholder until this screen is written (issue #6, in progress).
export default function PipelinesPage() {
  return <div className="state-box">PipelinesPage</div>;
}
