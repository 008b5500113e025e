/*
 * fuzz_records.c - libFuzzer target for the store's record decoders
 * (lib/store.c). The records are ours, but a damaged or foreign file
 * makes them untrusted bytes: every decoder must refuse what does not
 * decode exactly, never crash, leak or read past a value.
 *
 * Input: a sequence of records, each [key length: 1 byte][key]
 * [value length: 2 bytes, big-endian][value], loaded into an in-memory
 * Berkeley DB btree; then the check walk (oa_store_walk) decodes every
 * record by its key's type byte and cross-checks the indexes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	oa_log_set_level(OA_LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oa_db_report rep;
	DB *d = NULL;
	DBT k, v;
	size_t off = 0, kl, vl, n = 0;

	if (db_create(&d, NULL, 0) != 0)
		return 0;
	if (d->open(d, NULL, NULL, NULL, DB_BTREE, DB_CREATE, 0) != 0) {
		(void)d->close(d, 0);
		return 0;
	}
	while (off < size) {
		kl = data[off++];
		if (kl == 0 || kl > size - off)
			break;
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = (void *)(data + off);
		k.size = (u_int32_t)kl;
		off += kl;
		if (size - off < 2)
			break;
		vl = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (vl > size - off)
			vl = size - off;
		v.data = (void *)(data + off);
		v.size = (u_int32_t)vl;
		off += vl;
		if (d->put(d, NULL, &k, &v, 0) == 0)
			n++;
	}
	memset(&rep, 0, sizeof(rep));
	(void)oa_store_walk(d, &rep);
	/* Every record is counted or is a problem; never more. */
	if (rep.users + rep.identities + rep.emails + rep.sessions +
	    rep.refresh_tokens + rep.codes + rep.states + rep.cache +
	    rep.deleted_ids > n)
		abort();
	(void)d->close(d, 0);
	return 0;
}
