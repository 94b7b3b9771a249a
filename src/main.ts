// Which page this tab is: the coordinator dashboard (default) or a federated client (?role=client).
import { startClientPage } from './ui/client-page';
import { startDashboard } from './ui/dashboard';

const app = document.getElementById('app')!;
const params = new URLSearchParams(location.search);
const run = params.get('role') === 'client' ? startClientPage(app, params) : startDashboard(app, params);
run.catch((e: unknown) => {
  app.textContent = `fedtab failed to start: ${e instanceof Error ? e.message : String(e)}`;
  console.error(e);
});
