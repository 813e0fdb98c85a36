// Placeholder until this screen is written (issue #6, in progress).
export default function PluginsPage() {
  return <div className="state-box">PluginsPage</div>;
}
