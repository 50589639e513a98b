/* example.c: a program built against an installed libpupa-protocol through
 * pkg-config: frame a message, stream it back through the reader. */
#include <stdio.h>
#include <string.h>

#include <pupa/protocol.h>

static int seen;

static void on_message(void *ctx, const void *msg)
{
    const pupa_GuestMessage *m = msg;
    (void)ctx;
    if (m->which_payload == pupa_GuestMessage_init_tag &&
        strcmp(m->payload.init.stage, "probe") == 0)
        seen++;
}

int main(void)
{
    static pupa_GuestMessage m, out;
    static pupa_reader r;
    uint8_t buf[PUPA_FRAME_MAX];
    size_t len = 0;

    pupa_msg_init(&m, "probe", "vda", 0xd0000000);
    if (pupa_frame_encode(pupa_GuestMessage_fields, &m, buf, sizeof(buf), &len) != PUPA_FRAME_OK)
        return 1;
    pupa_reader_init(&r, pupa_GuestMessage_fields, &out);
    for (size_t i = 0; i < len; i++) /* one byte at a time */
        if (pupa_reader_feed(&r, buf + i, 1, on_message, NULL) != PUPA_FRAME_OK)
            return 1;
    printf("%d frame(s), %zu bytes\n", seen, len);
    return seen == 1 ? 0 : 1;
}
