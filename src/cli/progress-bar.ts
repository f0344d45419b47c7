/** A one-line progress bar on stderr (redrawn on a terminal, a line per 10 % otherwise). */
export class ProgressBar {
  private total = 0;
  private lastDecile = -1;
  private drawn = false;

  constructor(private readonly label: string) {}

  setTotal(total: number): void {
    this.total = total;
  }

  update(current: number, detail = ''): void {
    const fraction = this.total > 0 ? Math.min(1, current / this.total) : 0;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${barText(this.label, current, this.total)}`);
      this.drawn = true;
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      process.stderr.write(`${this.label} ${current} / ~${this.total}${detail}\n`);
    }
  }

  done(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}

/** `label [#####.....] current / ~total`: one bar's text (the total may be an estimate). */
export function barText(label: string, current: number, total: number, width = 30): string {
  const fraction = total > 0 ? Math.min(1, current / total) : 0;
  const filled = Math.round(fraction * width);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${current} / ~${total}`;
}
