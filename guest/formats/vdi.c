/* vdi.c: the vdi format (VirtualBox Disk Image 1.1: header, block map) as qemu reads it. */
#include <string.h>

#include "format.h"
#include "pupa/abi.h"

#define VDI_SIGNATURE       0xbeda107fu
#define VDI_VERSION_1_1     0x00010001u
#define VDI_SECTOR          512u
#define VDI_BLOCK           1048576u
/* qemu's limits: the block map must fit an int-sized allocation */
#define VDI_BLOCKS_MAX      0x1fffff80u
#define VDI_DISK_SIZE_MAX   ((uint64_t)VDI_BLOCKS_MAX * VDI_BLOCK)
#define VDI_UNALLOCATED_MIN 0xfffffffeu /* 0xfffffffe discarded, 0xffffffff unallocated */

/* Header offsets (all little endian). */
#define H_SIGNATURE   0x40
#define H_VERSION     0x44
#define H_OFFSET_BMAP 0x154
#define H_OFFSET_DATA 0x158
#define H_SECTOR_SIZE 0x168
#define H_DISK_SIZE   0x170
#define H_BLOCK_SIZE  0x178
#define H_BLOCKS      0x180
#define H_UUID_LINK   0x1a8
#define H_UUID_PARENT 0x1b8

static int vdi_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename;
    if (len < 512 || fmt_le32(buf + H_SIGNATURE) != VDI_SIGNATURE)
        return 0;
    return 100;
}

static bool is_null_uuid(const uint8_t *u)
{
    for (int i = 0; i < 16; i++) {
        if (u[i])
            return false;
    }
    return true;
}

struct vdi_bmap_check {
    uint64_t size, data_off;
    uint32_t blocks;
    struct fmt_tally bad_index, past_eof;
};

static int vdi_bmap_chunk(void *ctx, uint64_t first, const uint8_t *e, size_t n)
{
    struct vdi_bmap_check *c = ctx;
    const uint64_t size = c->size, data_off = c->data_off;
    const uint32_t blocks = c->blocks;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = fmt_le32(e + i * 4);
        if (b >= VDI_UNALLOCATED_MIN)
            continue;
        if (b >= blocks)
            fmt_tally_add(&c->bad_index, first + i);
        /* offset_data < 2^32 and b < 2^32: no overflow in 64 bits */
        if (data_off + ((uint64_t)b + 1) * VDI_BLOCK > size)
            fmt_tally_add(&c->past_eof, first + i);
    }
    return 0;
}

/* Walk the block map (only the part inside the file; the rest reads as zeros) for entries
 * that point outside the image or the file. */
static int vdi_check_bmap(const struct fmt_io *io, struct fmt_info *info, uint64_t bmap_off,
                          uint32_t blocks, uint64_t data_off)
{
    struct vdi_bmap_check c = {io->size, data_off, blocks, {0, 0}, {0, 0}};
    uint64_t in_file = fmt_entries_in_file(io, bmap_off, blocks, 4, false);
    if (fmt_walk(io, info, bmap_off, in_file, 4, vdi_bmap_chunk, &c) != 0)
        return -1;
    if (c.bad_index.count)
        fmt_finding(info, "out-of-range",
                    "%u block map entries point beyond the image's %u blocks (first: block %u)",
                    (uint32_t)c.bad_index.count, blocks, (uint32_t)c.bad_index.first);
    if (c.past_eof.count)
        fmt_finding(info, "out-of-range",
                    "%u block map entries point past the end of the file (first: block %u)",
                    (uint32_t)c.past_eof.count, (uint32_t)c.past_eof.first);
    return 0;
}

static int vdi_open(const struct fmt_io *io, struct fmt_info *info)
{
    uint8_t h[512];

    strcpy(info->format, "vdi");
    if (fmt_read(io, info, 0, h, sizeof(h)) != 0)
        return -1;
    uint32_t signature = fmt_le32(h + H_SIGNATURE), version = fmt_le32(h + H_VERSION);
    uint32_t offset_bmap = fmt_le32(h + H_OFFSET_BMAP), offset_data = fmt_le32(h + H_OFFSET_DATA);
    uint32_t sector_size = fmt_le32(h + H_SECTOR_SIZE), block_size = fmt_le32(h + H_BLOCK_SIZE);
    uint32_t blocks = fmt_le32(h + H_BLOCKS);
    uint64_t disk_size = fmt_le64(h + H_DISK_SIZE);

    /* qemu's order of checks */
    if (disk_size > VDI_DISK_SIZE_MAX)
        return fmt_fail(info,
                        "Unsupported VDI image size (size is 0x%llx, max supported is 0x%llx)",
                        (unsigned long long)disk_size, (unsigned long long)VDI_DISK_SIZE_MAX);
    /* odd sizes (VBoxManage convertfromraw) are rounded up to whole sectors */
    disk_size = (disk_size + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
    if (signature != VDI_SIGNATURE)
        return fmt_fail(info, "Image not in VDI format (bad signature %08x)", signature);
    if (version != VDI_VERSION_1_1)
        return fmt_fail(info, "unsupported VDI image (version %u.%u)", version >> 16,
                        version & 0xffff);
    if (offset_bmap % VDI_SECTOR != 0)
        return fmt_fail(info, "unsupported VDI image (unaligned block map offset 0x%x)",
                        offset_bmap);
    if (offset_data % VDI_SECTOR != 0)
        return fmt_fail(info, "unsupported VDI image (unaligned data offset 0x%x)", offset_data);
    if (sector_size != VDI_SECTOR)
        return fmt_fail(info, "unsupported VDI image (sector size %u is not %u)", sector_size,
                        VDI_SECTOR);
    if (block_size != VDI_BLOCK)
        return fmt_fail(info, "unsupported VDI image (block size %u is not %u)", block_size,
                        VDI_BLOCK);
    uint64_t room = (uint64_t)blocks * block_size;
    if (disk_size > room)
        return fmt_fail(info,
                        "unsupported VDI image (disk size %llu, image bitmap has room for %llu)",
                        (unsigned long long)disk_size, (unsigned long long)room);
    if (!is_null_uuid(h + H_UUID_LINK))
        return fmt_fail(info, "unsupported VDI image (non-NULL link UUID)");
    if (!is_null_uuid(h + H_UUID_PARENT))
        return fmt_fail(info, "unsupported VDI image (non-NULL parent UUID)");
    if (blocks > VDI_BLOCKS_MAX)
        return fmt_fail(info, "unsupported VDI image (too many blocks %u, max is %u)", blocks,
                        VDI_BLOCKS_MAX);

    info->virtual_size = disk_size;
    info->cluster_size = block_size;
    info->flags |= PUPA_INFO_F_HAS_DIRTY_FLAG;

    /* Safety: where the metadata lies relative to the file and to each other. */
    uint64_t bmap_bytes = ((uint64_t)blocks * 4 + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
    uint64_t bmap_end = (uint64_t)offset_bmap + bmap_bytes;
    if (bmap_bytes && bmap_end > io->size)
        fmt_finding(info, "out-of-range",
                    "the block map (%llu bytes at offset %u) extends past the end of the file "
                    "(%llu bytes)",
                    (unsigned long long)bmap_bytes, offset_bmap, (unsigned long long)io->size);
    if (bmap_bytes && offset_bmap < VDI_SECTOR)
        fmt_finding(info, "out-of-range", "the block map (offset %u) overlaps the header",
                    offset_bmap);
    if (offset_data < VDI_SECTOR ||
        (bmap_bytes && offset_data < bmap_end && (uint64_t)offset_data + room > offset_bmap))
        fmt_finding(info, "out-of-range",
                    "the data area (offset %u) overlaps the header or the block map", offset_data);
    return vdi_check_bmap(io, info, offset_bmap, blocks, offset_data);
}

const struct fmt_driver fmt_vdi = {
    .name = "vdi",
    .probe = vdi_probe,
    .open = vdi_open,
};
