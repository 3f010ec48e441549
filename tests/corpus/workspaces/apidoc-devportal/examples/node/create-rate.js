// notes: 0
// Quote rates with the official Node SDK.
// Run: PARCELWISE_API_KEY=... node create-rate.js   (or put it in .env and use `node --env-file=.env`)
import Parcelwise from '@parcelwise/node';

const client = new Parcelwise({
  apiKey: process.env.PARCELWISE_API_KEY,
  baseURL: process.env.PARCELWISE_BASE_URL ?? 'https://sandbox.parcelwise.example/v2',
});

const rates = await client.rates.create({
  from: { postal_code: '10115', country: 'DE' },
  to: { postal_code: '75001', country: 'FR' },
  parcel: { weight_g: 1200, length_cm: 30, width_cm: 20, height_cm: 10 },
});

for (const r of rates.data) {
  console.log(`${r.carrier} ${r.service}: ${r.amount} ${r.currency}`);
}
