// client.js -- drives the real, unmodified @rudderstack/rudder-sdk-node
// library against churnwatch with its defaults (gzip on): only
// dataPlaneUrl points elsewhere.
// Usage: node client.js DATA_PLANE_URL WRITE_KEY
const RudderAnalytics = require('@rudderstack/rudder-sdk-node');

const Analytics = RudderAnalytics.default || RudderAnalytics;

async function main() {
	const [dataPlaneUrl, writeKey] = process.argv.slice(2);
	const client = new Analytics(writeKey, {
		dataPlaneUrl,		// e.g. http://127.0.0.1:PORT/segment
		errorHandler: (err) => {
			console.error('rudderstack error:', err.message);
			process.exitCode = 1;
		},
	});
	client.group({ userId: 'rs-user-1', groupId: 'rs-acct',
	    traits: { name: 'Rudder Co', plan: 'pro', seats: 7 } });
	client.identify({ userId: 'rs-user-1',
	    traits: { email: 'ana@example.com', title: 'CTO' } });
	client.track({ userId: 'rs-user-1', event: 'Signed In' });
	client.track({ userId: 'rs-user-1', event: 'Report Exported',
	    properties: { format: 'csv' } });
	await client.flush();
	if (process.exitCode !== 1)
		console.log('flushed');
}

main().catch((e) => { console.error(e); process.exit(1); });
