#include <doctest/doctest.h>
#include "core/histogram.h"
