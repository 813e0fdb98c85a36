// Placeholder until this screen is written (issue #6, in progress).
export default function ServicesPage() {
  return <div className="state-box">ServicesPage</div>;
}
