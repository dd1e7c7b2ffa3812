/*
 * packet.c - extract the answer RRset from a DNS response (RFC 1035 4.1).
 *
 * Input: a response packet from libunbound, treated as untrusted bytes (it
 * comes off the network, even if validated).  Names are decompressed with a
 * bound on pointer hops (RFC 1035 4.1.4), every length is checked against
 * the packet end, CNAME chains are followed for at most DNS_MAX_CHAIN links.
 * RDATA that holds names (RFC 3597 section 4: only the well-known types may
 * be compressed) is stored uncompressed.  Negative TTL: RFC 2308 section 5,
 * min(SOA TTL, SOA MINIMUM).
 */
#include <string.h>

#include "dns/packet.h"
#include "dns/rr.h"
#include "util/alloc.h"
#include "util/buf.h"

#define DNS_HEADER_LEN 12
#define DNS_MAX_NAME   255
#define DNS_MAX_CHAIN  16
#define DNS_RCODE_MASK 0x000f

/* One record of the answer or authority section, names uncompressed. */
struct pkt_rr {
	uint8_t owner[DNS_MAX_NAME];
	size_t owner_len;
	uint16_t type;
	uint32_t ttl;
	struct buf rdata;
};

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Read a possibly compressed name at *pos into out (uncompressed wire form,
 * at most 255 octets); *pos moves past the name as it stands in the packet.
 */
static bool
read_name(const uint8_t *pkt, size_t len, size_t *pos, uint8_t *out, size_t *out_len,
          struct why *why)
{
	size_t p = *pos, n = 0, end = 0;
	unsigned hops = 0;

	for (;;) {
		unsigned c;

		if (p >= len)
			return why_set(why, "name runs past the end of the packet");
		c = pkt[p];
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return why_set(why, "truncated compression pointer");
			if (!end)
				end = p + 2;
			/* each hop must go backwards: no loops, bounded by the packet */
			if (++hops > 127 || (size_t)((c & 0x3f) << 8 | pkt[p + 1]) >= p)
				return why_set(why, "bad compression pointer");
			p = (size_t)((c & 0x3f) << 8 | pkt[p + 1]);
			continue;
		}
		if (c & 0xc0)
			return why_set(why, "unknown label type 0x%02x", c & 0xc0);
		if (p + 1 + c > len)
			return why_set(why, "label runs past the end of the packet");
		if (n + 1 + c > DNS_MAX_NAME)
			return why_set(why, "name longer than 255 octets");
		memcpy(out + n, pkt + p, 1 + c);
		n += 1 + c;
		p += 1 + c;
		if (c == 0)
			break;
	}
	*pos = end ? end : p;
	*out_len = n;
	return true;
}

/* Case-insensitive comparison of two uncompressed wire names. */
static bool
name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++) {
		uint8_t x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

/* Append a name read at *pos (compressed or not) to out, uncompressed. */
static bool
copy_name(const uint8_t *pkt, size_t len, size_t *pos, struct buf *out, struct why *why)
{
	uint8_t name[DNS_MAX_NAME];
	size_t n;

	if (!read_name(pkt, len, pos, name, &n, why))
		return false;
	buf_append(out, name, n);
	return true;
}

/* Copy RDATA [pos, pos+rdlen) into rr->rdata, expanding names where the type has them. */
static bool
copy_rdata(const uint8_t *pkt, size_t len, size_t pos, size_t rdlen, struct pkt_rr *rr,
           struct why *why)
{
	size_t end = pos + rdlen;

	switch (rr->type) {
	case RR_TYPE_CNAME:
	case RR_TYPE_NS:
	case 12: /* PTR */
		if (!copy_name(pkt, end, &pos, &rr->rdata, why))
			return false;
		break;
	case RR_TYPE_MX:
		if (rdlen < 3)
			return why_set(why, "MX RDATA too short");
		buf_append(&rr->rdata, pkt + pos, 2);
		pos += 2;
		if (!copy_name(pkt, end, &pos, &rr->rdata, why))
			return false;
		break;
	case RR_TYPE_SOA:
		if (!copy_name(pkt, end, &pos, &rr->rdata, why) ||
		    !copy_name(pkt, end, &pos, &rr->rdata, why))
			return false;
		if (end - pos != 20)
			return why_set(why, "SOA RDATA has a bad length");
		buf_append(&rr->rdata, pkt + pos, 20);
		pos += 20;
		break;
	default:
		buf_append(&rr->rdata, pkt + pos, rdlen);
		pos = end;
		break;
	}
	(void)len;
	if (pos != end)
		return why_set(why, "RDATA of type %u has trailing bytes", rr->type);
	if (rr->rdata.data == NULL)
		buf_reserve(&rr->rdata, 0);
	return true;
}

static void
free_rrs(struct pkt_rr *rrs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_release(&rrs[i].rdata);
	free(rrs);
}

/* Parse `count` resource records starting at *pos. */
static bool
read_section(const uint8_t *pkt, size_t len, size_t *pos, unsigned count, struct pkt_rr **rrs,
             size_t *n, struct why *why)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		struct pkt_rr *rr;
		size_t rdlen;

		*rrs = xreallocarray(*rrs, *n + 1, sizeof(**rrs));
		rr = &(*rrs)[*n];
		memset(rr, 0, sizeof(*rr));
		(*n)++;
		if (!read_name(pkt, len, pos, rr->owner, &rr->owner_len, why))
			return false;
		if (len - *pos < 10)
			return why_set(why, "record header runs past the end of the packet");
		rr->type = get16(pkt + *pos);
		rr->ttl = get32(pkt + *pos + 4) & 0x7fffffff; /* RFC 2181 8: top bit set means 0 */
		if (get32(pkt + *pos + 4) & 0x80000000)
			rr->ttl = 0;
		rdlen = get16(pkt + *pos + 8);
		*pos += 10;
		if (len - *pos < rdlen)
			return why_set(why, "RDATA runs past the end of the packet");
		if (!copy_rdata(pkt, len, *pos, rdlen, rr, why))
			return false;
		*pos += rdlen;
	}
	return true;
}

/* Presentation form of an uncompressed wire name. */
static char *
name_text(const uint8_t *name, size_t len)
{
	struct buf out = BUF_INIT;
	size_t pos = 0;

	if (!rr_name_to_text(name, len, &pos, &out, NULL)) {
		buf_release(&out);
		return xstrdup("(unprintable name)");
	}
	return (char *)buf_steal(&out, NULL);
}

bool
dns_packet_answer(const uint8_t *pkt, size_t len, uint16_t qtype, struct dns_answer *ans,
                  struct why *why)
{
	uint8_t cur[DNS_MAX_NAME];
	size_t cur_len, pos = DNS_HEADER_LEN, n_an = 0, n_ns = 0, i;
	struct pkt_rr *an = NULL, *ns = NULL;
	unsigned qd, ancount, nscount, hop;
	uint32_t ttl = UINT32_MAX;
	bool ok = false;
	struct dns_rr *out = NULL;
	size_t n_out = 0;

	if (pkt == NULL || len < DNS_HEADER_LEN)
		return why_set(why, "response shorter than a DNS header");
	qd = get16(pkt + 4);
	ancount = get16(pkt + 6);
	nscount = get16(pkt + 8);
	if (qd != 1)
		return why_set(why, "response has %u questions, want 1", qd);
	if (!read_name(pkt, len, &pos, cur, &cur_len, why))
		return false;
	if (len - pos < 4)
		return why_set(why, "question runs past the end of the packet");
	if (get16(pkt + pos) != qtype)
		return why_set(why, "response answers type %u, asked %u", get16(pkt + pos), qtype);
	pos += 4;
	if (!read_section(pkt, len, &pos, ancount, &an, &n_an, why) ||
	    !read_section(pkt, len, &pos, nscount, &ns, &n_ns, why))
		goto done;

	/* Follow the CNAME chain from the question name (RFC 1034 3.6.2). */
	for (hop = 0; qtype != RR_TYPE_CNAME; hop++) {
		for (i = 0; i < n_an; i++)
			if (an[i].type == RR_TYPE_CNAME &&
			    name_equal(an[i].owner, an[i].owner_len, cur, cur_len))
				break;
		if (i == n_an)
			break;
		if (hop == DNS_MAX_CHAIN) {
			why_set(why, "CNAME chain longer than %d links", DNS_MAX_CHAIN);
			goto done;
		}
		memcpy(cur, an[i].rdata.data, an[i].rdata.len);
		cur_len = an[i].rdata.len;
		if (an[i].ttl < ttl)
			ttl = an[i].ttl;
	}
	for (i = 0; i < n_an; i++) {
		if (an[i].type != qtype || !name_equal(an[i].owner, an[i].owner_len, cur, cur_len))
			continue;
		out = xreallocarray(out, n_out + 1, sizeof(*out));
		out[n_out].rdata = buf_steal(&an[i].rdata, &out[n_out].len);
		n_out++;
		if (an[i].ttl < ttl)
			ttl = an[i].ttl;
	}
	if (n_out == 0) {
		/* RFC 2308 5: a negative answer lives min(SOA TTL, SOA MINIMUM). */
		for (i = 0; i < n_ns; i++) {
			if (ns[i].type == RR_TYPE_SOA && ns[i].rdata.len >= 20) {
				uint32_t min = get32(ns[i].rdata.data + ns[i].rdata.len - 4);

				if (ns[i].ttl < ttl)
					ttl = ns[i].ttl;
				if (min < ttl)
					ttl = min;
				break;
			}
		}
	}
	ans->rcode = pkt[3] & DNS_RCODE_MASK;
	ans->canonical = name_text(cur, cur_len);
	ans->ttl = ttl == UINT32_MAX ? 0 : ttl;
	ans->rrs = out;
	ans->n_rrs = n_out;
	out = NULL;
	ok = true;
done:
	free_rrs(an, n_an);
	free_rrs(ns, n_ns);
	free(out);
	return ok;
}
