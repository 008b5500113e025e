// serve.mjs - the opening the test servers share (fake.mjs, github.mjs,
// op.mjs, peer.mjs and bench/upstream.mjs): stdout kept for the READY
// line, the usage message, argument parsing, listening on 127.0.0.1 and
// the exit on SIGTERM/SIGINT. The Chromium tests (tests/e2e/*.mjs) parse
// their arguments with it too. Node's built-ins only.

// quietStdout(): stdout carries the READY line only, and the test harness
// may stop reading it after that: everything else (oidc-provider's own
// notices included) goes to stderr, and a closed stdout is not fatal.
export function quietStdout() {
	console.log = console.info = console.warn = console.error;
	process.stdout.on('error', () => {});
}

// usageOf(name, text): a usage(msg) function for the program NAME: it
// prints "NAME: msg" (when given) and TEXT ("usage: ..." lines) on stderr
// and exits 2.
export function usageOf(name, text) {
	return (msg) => {
		if (msg) process.stderr.write(`${name}: ${msg}\n`);
		process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
		process.exit(2);
	};
}

// parseArgs(argv, opts, names, usage): fills OPTS from ARGV (an array of
// strings). NAMES maps each option ("--port", "-q") to the member of OPTS
// it sets; the member's default tells what the option takes: an array
// collects every value given, a boolean is a flag without a value (set to
// true), a number takes Number(value), anything else (null, a string)
// the value as given. -h/--help calls usage(); an unknown option or a
// missing value calls usage(msg). Returns OPTS.
export function parseArgs(argv, opts, names, usage) {
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (!Object.hasOwn(names, a)) {
			if (a === '-h' || a === '--help') usage();
			usage(`unknown argument ${a}`);
		}
		const key = names[a];
		const cur = opts[key];
		if (typeof cur === 'boolean') {
			opts[key] = true;
			continue;
		}
		if (i + 1 >= argv.length) usage(`${a} needs a value`);
		const v = argv[++i];
		if (Array.isArray(cur)) cur.push(v);
		else opts[key] = typeof cur === 'number' ? Number(v) : v;
	}
	return opts;
}

// portOk(port): PORT is a whole number from 0 (any free port) to 65535.
export function portOk(port) {
	return Number.isInteger(port) && port >= 0 && port <= 65535;
}

// listen(server, port, ready): SERVER (an http or https server) listens
// on 127.0.0.1:PORT (0: a free port). Once it does, ready(p) runs (p the
// port: what needs the port is set up there; it may be omitted), then
// "READY <p>" is written on stdout, the line the harness waits for.
// SIGTERM and SIGINT end the process (exit 0).
export function listen(server, port, ready) {
	server.listen(port, '127.0.0.1', () => {
		const p = server.address().port;
		if (ready) ready(p);
		process.stdout.write(`READY ${p}\n`);
	});
	for (const sig of ['SIGTERM', 'SIGINT'])
		process.on(sig, () => process.exit(0));
}
