#include "core/memory.h"

#include <malloc.h>

namespace flotilla {

void release_free_memory() { ::malloc_trim(0); }

}  // namespace flotilla
