/* frames_json.h: protocol messages as JSON objects (pupa-frames, --progress=json):
 * field names as in guest.proto, enums by name, the oneof member by its field
 * name, 64-bit integers as numbers, bytes as lowercase hex. */
#ifndef PUPA_FRAMES_JSON_H
#define PUPA_FRAMES_JSON_H

#include "json.h"
#include "pupa/protocol.h"

/* Members of a GuestMessage / VmmConfig, written into an open JSON object. */
void frames_json_guest(struct json_writer *w, const pupa_GuestMessage *m);
void frames_json_config(struct json_writer *w, const pupa_VmmConfig *c);

#endif
