/**
 * int16 sigmoid and tanh as TFLite's integer kernels compute them (reference_integer_ops
 * Logistic / Tanh for int16, used by int16 LOGISTIC/TANH and by the integer LSTM's gates).
 *
 * Both interpolate one 256-entry table of sigmoid(k / 24) in unsigned Q0.16 (k = 0..255,
 * entry 255 saturated to 65535). The input is first scaled by `multiplier` and rounded down by
 * `shift` ((x * multiplier + round) >> shift); `multiplier` 0 is TFLite's power-of-two case,
 * which means multiplier 3 << shift and no shift (the 3 widens [-8, 8] to about [-10.7, 10.7]).
 *   logistic: |scaled| >> 9 indexes the table, its low 9 bits interpolate; output Q0.15 in
 *             [0, 32767] (sigmoid(0) = 16384).
 *   tanh:     |scaled| >> 8 indexes the table (tanh(x) = 2 sigmoid(2x) - 1), its low 8 bits
 *             interpolate; output Q0.15 in [-32768, 32767].
 * The table values are TFLite's own (tensorflow/lite/kernels/internal/common.h,
 * sigmoid_table_uint16): they are not round(65536 sigmoid(k / 24)) everywhere, and bit-exact
 * results need exactly these nodes.
 */

/** sigmoid(k / 24) in unsigned Q0.16, k = 0..255: the interpolation nodes. */
export const SIGMOID_TABLE_UINT16: Uint16Array = Uint16Array.from([
  32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
  40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
  47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
  53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
  57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
  60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
  62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
  63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
  64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
  64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
  65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
  65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
  65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
  65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
  65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
  65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
  65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
  65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
  65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
  65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
  65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
  65534, 65534, 65534, 65535
]);

/** The scaling of one int16 input: (x * multiplier + round) >> shift, with TFLite's power-of-two case. */
function scaleInput(x: number, multiplier: number, shift: number): number {
  let m = multiplier;
  let s = shift;
  if (m === 0) {
    m = 3 << s;
    s = 0;
  }
  const round = s > 0 ? 1 << (s - 1) : 0;
  return (x * m + round) >> s;
}

/** int16 logistic of one value: Q0.15 result in [0, 32767]. */
export function logisticS16(x: number, multiplier: number, shift: number): number {
  const v = scaleInput(x, multiplier, shift);
  const abs = Math.abs(v);
  const uh = abs >>> 9;
  let result: number;
  if (uh >= 255) {
    result = 0x7fff << 10;
  } else {
    const ua = SIGMOID_TABLE_UINT16[uh]!;
    const ub = SIGMOID_TABLE_UINT16[uh + 1]!;
    result = ua * 512 + (abs & 0x1ff) * (ub - ua);
  }
  // The C computes in uint32; every value here stays below 2^26, so plain numbers are exact.
  result = v >= 0 ? result + (1 << 9) : (1 << 25) - result + (1 << 9) - 1;
  return result >>> 10;
}

/** int16 tanh of one value: Q0.15 result in [-32768, 32767]. */
export function tanhS16(x: number, multiplier: number, shift: number): number {
  const v = scaleInput(x, multiplier, shift);
  const abs = Math.abs(v);
  const uh = abs >>> 8;
  let result: number;
  if (uh >= 255) {
    result = 0xffff << 8;
  } else {
    const ua = SIGMOID_TABLE_UINT16[uh]!;
    const ub = SIGMOID_TABLE_UINT16[uh + 1]!;
    result = ua * 256 + (abs & 0xff) * (ub - ua);
  }
  result = v >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
  // Arithmetic shift of the int32 result, then the int16 store.
  return ((result >> 8) << 16) >> 16;
}
