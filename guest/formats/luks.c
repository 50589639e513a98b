/* luks.c: the luks format (LUKS1 header as qemu's crypto layer reads it), fmt_luks_load/describe().
 */
#include <string.h>

#include "format.h"
#include "luks.h"
#include "pupa/abi.h"

#define LUKS_HDR_SIZE        592
#define LUKS_SLOTS           FMT_LUKS_SLOTS
#define LUKS_SLOT_BASE       208 /* offset of key slot 0 in the header */
#define LUKS_SLOT_SIZE       48
#define LUKS_STRIPES         4000
#define LUKS_SECTOR          512u
#define LUKS_KEY_SLOT_OFFSET 4096u
#define LUKS_SLOT_DISABLED   0x0000DEADu
#define LUKS_SLOT_ENABLED    0x00AC71F3u

static const uint8_t luks_magic[6] = {'L', 'U', 'K', 'S', 0xBA, 0xBE};

/* qemu's QCryptoHashAlgorithm names with their digest lengths. */
static const struct {
    const char *name;
    unsigned digest;
} luks_hashes[] = {
    {"md5", 16},    {"sha1", 20},   {"sha224", 28},    {"sha256", 32},
    {"sha384", 48}, {"sha512", 64}, {"ripemd160", 20},
};

/* The cipher names LUKS headers may carry, qemu's algorithm names per key size. */
static const struct {
    const char *name;
    const char *alg[3]; /* for 16, 24, 32 key bytes; NULL = unsupported */
} luks_ciphers[] = {
    {"aes", {"aes-128", "aes-192", "aes-256"}},
    {"cast5", {"cast5-128", NULL, NULL}},
    {"serpent", {"serpent-128", "serpent-192", "serpent-256"}},
    {"twofish", {"twofish-128", "twofish-192", "twofish-256"}},
};

static const char *const luks_modes[] = {"ecb", "cbc", "xts", "ctr"};
static const char *const luks_ivgens[] = {"plain", "plain64", "essiv"};

static int lookup(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

static int hash_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(luks_hashes) / sizeof(luks_hashes[0]); i++) {
        if (strcmp(luks_hashes[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* Key material sectors of a slot as qemu computes them (cryptsetup's rounding), in qemu's
 * 32-bit arithmetic so that overlap checks wrap where qemu's do. */
static uint32_t split_sectors(uint32_t key_bytes, uint32_t stripes)
{
    uint64_t len = (uint64_t)key_bytes * stripes;
    uint64_t sectors = len / LUKS_SECTOR + (len % LUKS_SECTOR != 0);
    uint64_t hdr = LUKS_KEY_SLOT_OFFSET / LUKS_SECTOR;
    return (uint32_t)((sectors + hdr - 1) / hdr * hdr);
}

/* Keyslot overlap as qemu-img 7.2 decides it, in unsigned 32-bit sums: an empty
 * range overlaps nothing (a header cut short, with zeroed slots, is refused for
 * the zeroed slot's stripes, not for an overlap with it). */
static bool overlap(uint32_t s1, uint32_t l1, uint32_t s2, uint32_t l2)
{
    return (uint32_t)(s1 + l1) > s2 && (uint32_t)(s2 + l2) > s1;
}

/* qemu's check_header + parse_header; on success fills the names to print. */
static int luks_parse(const uint8_t *h, struct fmt_luks *l, struct fmt_info *info)
{
    if (memcmp(h, luks_magic, sizeof(luks_magic)) != 0)
        return fmt_fail(info, "Volume is not in LUKS format");
    uint16_t version = fmt_be16(h + 6);
    if (version != 1)
        return fmt_fail(info, "LUKS version %u is not supported", version);
    if (!memchr(h + 8, 0, 32))
        return fmt_fail(info, "LUKS header cipher name is not NUL terminated");
    if (!memchr(h + 40, 0, 32))
        return fmt_fail(info, "LUKS header cipher mode is not NUL terminated");
    if (!memchr(h + 72, 0, 32))
        return fmt_fail(info, "LUKS header hash spec is not NUL terminated");
    memcpy(l->cipher_name, h + 8, 32);
    memcpy(l->cipher_mode, h + 40, 32);
    memcpy(l->hash_spec, h + 72, 32);
    l->cipher_name[32] = l->cipher_mode[32] = l->hash_spec[32] = '\0';
    memcpy(l->uuid, h + 168, 40);
    l->uuid[40] = '\0';
    l->payload_sector = fmt_be32(h + 104);
    l->key_bytes = fmt_be32(h + 108);
    l->mk_iters = fmt_be32(h + 164);
    for (int i = 0; i < LUKS_SLOTS; i++) {
        const uint8_t *s = h + LUKS_SLOT_BASE + i * LUKS_SLOT_SIZE;
        l->active[i] = fmt_be32(s);
        l->iters[i] = fmt_be32(s + 4);
        l->key_sector[i] = fmt_be32(s + 40);
        l->stripes[i] = fmt_be32(s + 44);
    }

    const uint32_t hdr_sectors = LUKS_KEY_SLOT_OFFSET / LUKS_SECTOR;
    if (l->payload_sector < hdr_sectors)
        return fmt_fail(info, "LUKS payload is overlapping with the header");
    if (l->mk_iters == 0)
        return fmt_fail(info, "LUKS key iteration count is zero");
    for (int i = 0; i < LUKS_SLOTS; i++) {
        uint32_t start1 = l->key_sector[i], len1 = split_sectors(l->key_bytes, l->stripes[i]);
        if (l->stripes[i] != LUKS_STRIPES)
            return fmt_fail(info, "Keyslot %d is corrupted (stripes %d != %d)", i,
                            (int)l->stripes[i], LUKS_STRIPES);
        if (l->active[i] != LUKS_SLOT_DISABLED && l->active[i] != LUKS_SLOT_ENABLED)
            return fmt_fail(info, "Keyslot %d state (active/disable) is corrupted", i);
        if (l->active[i] == LUKS_SLOT_ENABLED && l->iters[i] == 0)
            return fmt_fail(info, "Keyslot %d iteration count is zero", i);
        if (start1 < hdr_sectors)
            return fmt_fail(info, "Keyslot %d is overlapping with the LUKS header", i);
        if ((uint32_t)(start1 + len1) > l->payload_sector)
            return fmt_fail(info, "Keyslot %d is overlapping with the encrypted payload", i);
        for (int j = i + 1; j < LUKS_SLOTS; j++) {
            uint32_t start2 = l->key_sector[j], len2 = split_sectors(l->key_bytes, l->stripes[j]);
            if (overlap(start1, len1, start2, len2))
                return fmt_fail(info, "Keyslots %d and %d are overlapping in the header", i, j);
        }
    }

    /* cipher_mode is "<mode>-<ivgen>[:<ivhash>]" */
    char modebuf[33];
    memcpy(modebuf, l->cipher_mode, sizeof(modebuf));
    char *ivname = strchr(modebuf, '-');
    if (!ivname)
        return fmt_fail(info, "Unexpected cipher mode string format '%s'", l->cipher_mode);
    *ivname++ = '\0';
    char *ivhashname = strchr(ivname, ':');
    int ivh = -1;
    if (ivhashname) {
        *ivhashname++ = '\0';
        ivh = hash_lookup(ivhashname);
        if (ivh < 0)
            return fmt_fail(info, "Hash algorithm '%s' not supported", ivhashname);
    }
    int m = lookup(luks_modes, 4, modebuf);
    if (m < 0)
        return fmt_fail(info, "Cipher mode '%s' not supported", modebuf);
    uint32_t kb = l->key_bytes;
    if (m == 2) /* xts: two keys */
        kb /= 2;
    int c = -1, ks = -1;
    for (size_t i = 0; i < sizeof(luks_ciphers) / sizeof(luks_ciphers[0]); i++) {
        if (strcmp(luks_ciphers[i].name, l->cipher_name) != 0)
            continue;
        ks = kb == 16 ? 0 : kb == 24 ? 1 : kb == 32 ? 2 : -1;
        if (ks >= 0 && luks_ciphers[i].alg[ks])
            c = (int)i;
        break;
    }
    if (c < 0)
        return fmt_fail(info, "Algorithm '%s' with key size %d bytes not supported", l->cipher_name,
                        (int)kb);
    int hs = hash_lookup(l->hash_spec);
    if (hs < 0)
        return fmt_fail(info, "Hash algorithm '%s' not supported", l->hash_spec);
    int iv = lookup(luks_ivgens, 3, ivname);
    if (iv < 0)
        return fmt_fail(info, "IV generator '%s' not supported", ivname);
    if (iv == 2) { /* essiv: its cipher takes the hash digest as key */
        if (!ivhashname)
            return fmt_fail(info, "Missing IV generator hash specification");
        unsigned dlen = luks_hashes[ivh].digest;
        unsigned klen = 16u + 8u * (unsigned)ks;
        if (dlen != klen) {
            if (c == 1) /* cast5 has only one key size */
                return fmt_fail(info, "Cipher %s not supported with essiv",
                                luks_ciphers[c].alg[ks]);
            if (dlen != 16 && dlen != 24 && dlen != 32) {
                static const char *const fam[] = {"AES", "", "Serpent", "Twofish"};
                return fmt_fail(info, "No %s cipher with key size %u available", fam[c], dlen);
            }
        }
    }
    l->cipher_alg = luks_ciphers[c].alg[ks];
    l->mode = luks_modes[m];
    l->ivgen = luks_ivgens[iv];
    l->ivhash = iv == 2 ? luks_hashes[ivh].name : NULL;
    l->hash = luks_hashes[hs].name;
    return 0;
}

int fmt_luks_load(const struct fmt_io *io, struct fmt_info *info, uint64_t offset, uint64_t length,
                  struct fmt_luks *l)
{
    uint8_t h[LUKS_HDR_SIZE];

    /* qcow2 serves the header from its crypto extension and refuses reads beyond it */
    if (length < LUKS_HDR_SIZE)
        return fmt_fail(info, "Request for data outside of extension header");
    if (fmt_read(io, info, offset, h, sizeof(h)) != 0)
        return -1;
    return luks_parse(h, l, info);
}

void fmt_luks_describe(struct fmt_info *info, const struct fmt_luks *l)
{
    fmt_str(info, "cipher-alg", l->cipher_alg);
    fmt_str(info, "cipher-mode", l->mode);
    fmt_str(info, "ivgen-alg", l->ivgen);
    if (l->ivhash)
        fmt_str(info, "ivgen-hash-alg", l->ivhash);
    fmt_str(info, "hash-alg", l->hash);
    fmt_int(info, "payload-offset", (int64_t)l->payload_sector * LUKS_SECTOR);
    fmt_int(info, "master-key-iters", l->mk_iters);
    fmt_str(info, "uuid", l->uuid);
    fmt_list(info, "slots");
    for (int i = 0; i < LUKS_SLOTS; i++) {
        bool active = l->active[i] == LUKS_SLOT_ENABLED;
        fmt_dict(info, NULL);
        fmt_bool(info, "active", active);
        if (active) {
            fmt_int(info, "iters", l->iters[i]);
            fmt_int(info, "stripes", l->stripes[i]);
        }
        fmt_int(info, "key-offset", (int64_t)l->key_sector[i] * LUKS_SECTOR);
        fmt_end(info);
    }
    fmt_end(info);
}

/* qemu's block_crypto_probe_luks: magic and version 1. */
static int luks_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename;
    if (len < 8 || memcmp(buf, luks_magic, sizeof(luks_magic)) != 0 || fmt_be16(buf + 6) != 1)
        return 0;
    return 100;
}

static int luks_open(const struct fmt_io *io, struct fmt_info *info)
{
    struct fmt_luks l;

    strcpy(info->format, "luks");
    if (fmt_luks_load(io, info, 0, UINT64_MAX, &l) != 0)
        return -1;
    uint64_t payload = (uint64_t)l.payload_sector * LUKS_SECTOR;
    uint64_t file = (io->size + 511) / 512 * 512; /* the file layer counts whole sectors */
    if (payload > file)
        return fmt_fail(info, "Could not refresh total sector count: Input/output error");
    info->virtual_size = file - payload;
    info->flags |= PUPA_INFO_F_ENCRYPTED | PUPA_INFO_F_HAS_DIRTY_FLAG;
    strcpy(info->specific_type, "luks");
    fmt_dict(info, NULL); /* the format-specific "data" dict */
    fmt_luks_describe(info, &l);
    fmt_end(info);
    return 0;
}

const struct fmt_driver fmt_luks = {
    .name = "luks",
    .probe = luks_probe,
    .open = luks_open,
};
