/* accel.c: which execution backend runs the guests, and the set-up they share. */
#include <string.h>
#include <unistd.h>

#include "accel.h"

int accel_choose(const char *name, const struct accel_ops **out, struct pupa_error *err)
{
    if (!name || strcmp(name, "auto") == 0) {
        *out = accel_kvm_available() ? &accel_kvm_ops : &accel_emu_ops;
        return 0;
    }
    if (strcmp(name, "kvm") == 0) {
        if (!accel_kvm_available())
            return err_set(err, ERRC_UNSUPPORTED,
                           "kvm: /dev/kvm is not usable here (%s); try --accel=emu",
                           access("/dev/kvm", F_OK) == 0 ? "no permission or wrong API" : "absent");
        *out = &accel_kvm_ops;
        return 0;
    }
    if (strcmp(name, "emu") == 0) {
        *out = &accel_emu_ops;
        return 0;
    }
    return err_set(err, ERRC_USAGE, "--accel must be auto, kvm or emu, not '%s'", name);
}

int accel_prepare(const struct accel_ops *ops, struct pupa_error *err)
{
    if (ops == &accel_kvm_ops)
        (void)accel_kvm_prepare(); /* on failure each worker asks KVM itself */
    if (ops == &accel_emu_ops) {
        char why[256];
        if (accel_emu_preload(why, sizeof(why)) != 0)
            return err_set(err, ERRC_UNSUPPORTED, "%s", why);
    }
    return 0;
}
