/**
 * Send-rate control for puts into a stream whose capacity is unknown: additive increase while
 * everything is accepted, multiplicative decrease by the throttled fraction (AIMD, as TCP does),
 * so the rate settles just under what the target accepts.
 */
export class AdaptiveRate {
  private rate: number;

  constructor(
    private readonly options: {
      initialPerSecond: number;
      minPerSecond: number;
      maxPerSecond: number;
      increasePerSecond: number;
    },
  ) {
    this.rate = options.initialPerSecond;
  }

  get perSecond(): number {
    return this.rate;
  }

  /** Records the outcome of one request: `sent` entries, of which `throttled` were refused. */
  record(sent: number, throttled: number): void {
    if (sent === 0) return;
    if (throttled === 0) {
      this.rate = Math.min(this.options.maxPerSecond, this.rate + this.options.increasePerSecond);
    } else {
      const factor = 1 - 0.5 * (throttled / sent);
      this.rate = Math.max(this.options.minPerSecond, this.rate * factor);
    }
  }

  /** How long to wait before sending `count` records to stay within the rate. */
  delayFor(count: number): number {
    return Math.ceil((count / this.rate) * 1000);
  }
}
