/*
 * packet.h - read the answer out of a DNS response message (RFC 1035 4.1).
 *
 * libunbound hands over the validated response as a wire packet.  This
 * parser takes it as untrusted bytes: it follows the CNAME chain from the
 * question name, collects the RRset of the asked type at its end with names
 * in RDATA uncompressed (MX, CNAME, NS, PTR, SOA), and finds the negative TTL
 * (RFC 2308 section 5) for empty answers.  Bounded loops, checked offsets.
 */
#ifndef DANEMAIL_DNS_PACKET_H
#define DANEMAIL_DNS_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/resolver.h"
#include "util/why.h"

/*
 * Fill ans->rcode, ->canonical, ->ttl, ->n_rrs and ->rrs from the response
 * pkt for the question type qtype.  The question in the packet must be of
 * that type.  On false nothing in ans was changed.
 */
bool dns_packet_answer(const uint8_t *pkt, size_t len, uint16_t qtype, struct dns_answer *ans,
                       struct why *why);

#endif
