/* Control of the shim's fake backend, for tests only. Not installed with hailo_shim.h: a program built
   against the shim has no use for it. The function is exported by every build of the library and answers
   HS_STATUS_NOT_SUPPORTED unless the fake backend is the active one. */
#ifndef HAILO_SHIM_FAKE_H
#define HAILO_SHIM_FAKE_H

#include "hailo_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Injects faults into the fake backend: comma- or space-separated names ("timeout,device_lost"); "" or NULL
   clears them. An unknown name is HS_STATUS_INVALID_ARGUMENT and leaves the previous faults in place. */
HS_API int32_t hs_fake_set_fault(const char *faults);

#ifdef __cplusplus
}
#endif

#endif /* HAILO_SHIM_FAKE_H */
