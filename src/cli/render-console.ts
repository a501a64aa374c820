import type { Reply } from '../reply.js';
import { ConsoleButtons, type NumberedButton } from './console-buttons.js';
import type { ConsoleCharts } from './console-charts.js';
import { ConsoleFiles } from './console-files.js';
import { renderText } from './render-text.js';

/** What one console session shares between its answers and its out-of-band messages. */
export interface ConsoleSurface {
  readonly buttons: ConsoleButtons;
  readonly charts: ConsoleCharts;
  /** Where attached files are written; absent → they are printed whole. */
  readonly files?: ConsoleFiles;
}

export interface ConsoleRendering {
  readonly text: string;
  /** The reply's buttons with the numbers they were shown under, in order. */
  readonly buttons: readonly NumberedButton[];
}

/** Reply → console text: buttons numbered for `press`, a chart written to a PNG file and named, files too. */
export async function renderForConsole(reply: Reply, surface: ConsoleSurface): Promise<ConsoleRendering> {
  const buttons = (reply.buttons ?? []).map((b) => surface.buttons.add(b));
  const chartLines = reply.chart ? [await chartLine(reply, surface.charts)] : [];
  const files = surface.files;
  const fileLines =
    files && reply.files ? await Promise.all(reply.files.map((f) => ConsoleFiles.line(files, f))) : undefined;
  const text = renderText(reply, {
    buttonLines: buttons.map(ConsoleButtons.line),
    chartLines,
    ...(fileLines ? { fileLines } : {}),
  });
  return { text, buttons };
}

async function chartLine(reply: Reply, charts: ConsoleCharts): Promise<string> {
  if (!reply.chart) return '';
  try {
    return `  chart: ${await charts.write(reply.chart)} (a terminal cannot show it)`;
  } catch (e) {
    // The text summary above still says what the chart shows.
    return `  chart: not written (${e instanceof Error ? e.message : String(e)})`;
  }
}
