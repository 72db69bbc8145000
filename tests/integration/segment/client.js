// client.js -- drives the real, unmodified @segment/analytics-node
// library against churnwatch: only `host` points elsewhere.
// Usage: node client.js HOST WRITE_KEY
const { Analytics } = require('@segment/analytics-node');

async function main() {
	const [host, writeKey] = process.argv.slice(2);
	const analytics = new Analytics({
		writeKey,
		host,			// e.g. http://127.0.0.1:PORT/segment
		flushAt: 20,
		flushInterval: 300,
		maxRetries: 5,
	});
	analytics.on('error', (err) => console.error('segment error:', err));
	analytics.group({ userId: 'seg-user-1', groupId: 'seg-acct',
	    traits: { name: 'Segment Co', plan: 'pro', seats: 12 } });
	analytics.identify({ userId: 'seg-user-1',
	    traits: { email: 'kim@example.com', title: 'Head of Ops' } });
	analytics.track({ userId: 'seg-user-1', event: 'Signed In' });
	analytics.track({ userId: 'seg-user-1', event: 'Report Exported',
	    properties: { format: 'csv' } });
	analytics.page({ userId: 'seg-user-1', name: 'Dashboard' });
	await analytics.closeAndFlush({ timeout: 20000 });
	console.log('flushed');
}

main().catch((e) => { console.error(e); process.exit(1); });
