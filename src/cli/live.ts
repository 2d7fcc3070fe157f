import { visibleLength } from './format';

const ESC = '\u001b[';

/**
 * A frame redrawn in place on a terminal: the cursor goes back to the frame's first row and everything
 * below is cleared before the new frame is written. Wrapped lines are counted by the terminal's width,
 * and a frame is kept below the terminal's height (rows scrolled out of view cannot be redrawn).
 */
export class LiveFrame {
  private rows = 0;
  private last = '';

  constructor(private readonly out: NodeJS.WriteStream) {
    out.write(`${ESC}?25l`); // hide the cursor while redrawing
    out.on('resize', this.resized);
  }

  /** A resized terminal re-wraps what is on screen, so the old frame's rows are unknown: start afresh. */
  private readonly resized = (): void => {
    const lines = this.last.split('\n');
    this.out.write(`${ESC}2J${ESC}H`);
    this.rows = 0;
    this.last = '';
    if (lines.join('') !== '') this.draw(lines);
  };

  /** The most lines a frame may have to stay redrawable. */
  get maxLines(): number {
    return Math.max(5, (this.out.rows || 40) - 1);
  }

  /** Draws the frame unless it is the one on screen. */
  draw(lines: string[]): void {
    const text = lines.join('\n');
    if (text === this.last) return;
    const width = Math.max(1, this.out.columns || 120);
    const up = this.rows > 0 ? `${ESC}${this.rows}F` : '';
    this.out.write(`${up}${ESC}0J${text}\n`);
    this.rows = lines.reduce((n, l) => n + Math.max(1, Math.ceil(visibleLength(l) / width)), 0);
    this.last = text;
  }

  /** Leaves the last frame on screen and gives the cursor back. */
  close(): void {
    this.out.removeListener('resize', this.resized);
    this.out.write(`${ESC}?25h`);
  }
}
