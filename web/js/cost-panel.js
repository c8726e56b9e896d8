// Energy as money and CO2 for N requests. The defaults are stated in the UI with their
// source: the grid intensity is a published world average, the price is our assumption.
// What the user types is kept in localStorage so it survives reloads.

import { formatCo2, formatEnergy, formatKwh, formatMoney } from './format.js';

export const DEFAULTS = {
  requests: 1_000_000,
  pricePerKwh: 0.15, // USD; an assumption, not a measured or published average
  gramsPerKwh: 475, // IEA: world average CO2 intensity of electricity generation (2019 report)
};

const STORAGE_KEY = 'irene.cost-settings';
const JOULES_PER_KWH = 3.6e6;

export function costOf(energyPerRequestJ, { requests, pricePerKwh, gramsPerKwh }) {
  const kwh = (energyPerRequestJ * requests) / JOULES_PER_KWH;
  return { joules: energyPerRequestJ * requests, kwh, cost: kwh * pricePerKwh, grams: kwh * gramsPerKwh };
}

export class CostPanel {
  constructor(elements) {
    this.elements = elements; // { requests, price, intensity, result, reset }
    this.energy = null;
    this.restore();
    for (const input of [elements.requests, elements.price, elements.intensity]) {
      input.addEventListener('input', () => {
        this.save();
        this.render();
      });
    }
    elements.reset.addEventListener('click', () => {
      this.apply(DEFAULTS);
      this.save();
      this.render();
    });
  }

  setEnergy(joulesPerRequest) {
    this.energy = joulesPerRequest;
    this.render();
  }

  settings() {
    return {
      requests: Math.max(0, Number(this.elements.requests.value) || 0),
      pricePerKwh: Math.max(0, Number(this.elements.price.value) || 0),
      gramsPerKwh: Math.max(0, Number(this.elements.intensity.value) || 0),
    };
  }

  render() {
    if (this.energy == null) {
      // A machine without an energy meter answers time only: nothing to price.
      this.elements.result.textContent = 'No energy to price: the answer on screen gives each node\'s time, not its energy.';
      return;
    }
    const settings = this.settings();
    const { joules, kwh, cost, grams } = costOf(this.energy, settings);
    const n = settings.requests.toLocaleString('en-US');
    this.elements.result.innerHTML = `
      <span class="text-body-secondary">${n} requests:</span> <strong class="cost-energy">${formatEnergy(joules)}</strong>
      = ${formatKwh(kwh)} → <strong class="cost-money">${formatMoney(cost, 'USD')}</strong>
      and <strong class="cost-co2">${formatCo2(grams)}</strong>`;
  }

  apply(values) {
    this.elements.requests.value = values.requests;
    this.elements.price.value = values.pricePerKwh;
    this.elements.intensity.value = values.gramsPerKwh;
  }

  restore() {
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || '{}');
    } catch {
      saved = {};
    }
    this.apply({ ...DEFAULTS, ...saved });
  }

  save() {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.settings()));
    } catch {
      // Private windows may refuse storage; the settings then last for this page only.
    }
  }
}
