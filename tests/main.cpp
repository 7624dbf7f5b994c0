// The single doctest runner for every unit test source in tests/unit/.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

// The checkout the tests read fixtures from. Only this file sees the path, so the other test
// objects compile identically in every checkout and a compiler cache can share them.
namespace tsgan::test {
extern const char* const source_dir;
const char* const source_dir = TSGAN_SOURCE_DIR;
}  // namespace tsgan::test
