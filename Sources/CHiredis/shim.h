// hiredis is used as a codec only: the reply reader and command formatting.
// Include via <hiredis/...> so that hiredis's generic header names (read.h, sds.h) stay off the include path.
#include <hiredis/hiredis.h>
