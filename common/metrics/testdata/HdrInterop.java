// Interop driver for //common/metrics:hdr_interop_test: runs the reference
// HdrHistogram (Java) against histograms and logs produced by tpslab.
//
//   java -cp /usr/share/java/hdrhistogram.jar HdrInterop.java COMMANDS OUTPUT
//
// COMMANDS holds one command per line (fields separated by single spaces):
//   DECODE name base64          decode our V2 bytes (compressed or not); print
//                               HIST for it and REENCODED (its uncompressed
//                               re-encoding, base64)
//   ENCODE name lowest highest digits v[*count]...
//                               record the values in a new Histogram; print
//                               HIST, ENCODED (compressed, base64) and RAW
//                               (uncompressed, base64)
//   READLOG path                read an .hlog with HistogramLogReader; print
//                               HIST for each interval
//   WRITELOG path start_sec name...
//                               write the ENCODEd histograms named, one
//                               interval per second, with HistogramLogWriter;
//                               odd intervals are tagged with their name
//
// HIST name=N tag=T start_ms=S end_ms=E total=... lowest=... highest=...
//      digits=... min=... max=... mean_bits=... stddev_bits=... pct=v,v,...
//      buckets=value:count,...
// lists what the reference computes, so the C++ side can compare exactly.

import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;
import org.HdrHistogram.HistogramLogReader;
import org.HdrHistogram.HistogramLogWriter;

public class HdrInterop {
  // Percentiles printed in HIST lines; the C++ side uses the same list.
  static final double[] PERCENTILES = {0.0, 12.5, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0};

  static final Map<String, Histogram> encoded = new HashMap<>();

  public static void main(String[] args) throws Exception {
    List<String> lines = Files.readAllLines(Paths.get(args[0]));
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(Paths.get(args[1])))) {
      for (String line : lines) {
        if (line.isEmpty()) continue;
        String[] f = line.split(" ");
        switch (f[0]) {
          case "DECODE": {
            Histogram h = decode(Base64.getDecoder().decode(f[2]));
            out.println(describe(f[1], h));
            out.println("REENCODED " + f[1] + " " + b64(encodeRaw(h)));
            break;
          }
          case "ENCODE": {
            Histogram h = new Histogram(Long.parseLong(f[2]), Long.parseLong(f[3]),
                Integer.parseInt(f[4]));
            for (int i = 5; i < f.length; i++) {
              int star = f[i].indexOf('*');
              if (star < 0) {
                h.recordValue(Long.parseLong(f[i]));
              } else {
                h.recordValueWithCount(Long.parseLong(f[i].substring(0, star)),
                    Long.parseLong(f[i].substring(star + 1)));
              }
            }
            encoded.put(f[1], h);
            out.println(describe(f[1], h));
            out.println("ENCODED " + f[1] + " " + b64(encodeCompressed(h)));
            out.println("RAW " + f[1] + " " + b64(encodeRaw(h)));
            break;
          }
          case "READLOG": {
            HistogramLogReader reader = new HistogramLogReader(f[1]);
            int i = 0;
            EncodableHistogram e;
            while ((e = reader.nextIntervalHistogram()) != null) {
              out.println(describe("log" + i++, (Histogram) e));
            }
            reader.close();
            break;
          }
          case "WRITELOG": {
            double start = Double.parseDouble(f[2]);
            long startMs = (long) (start * 1000);
            HistogramLogWriter writer = new HistogramLogWriter(f[1]);
            writer.outputLogFormatVersion();
            writer.outputStartTime(startMs);
            writer.setBaseTime(startMs);
            writer.outputBaseTime(startMs);
            writer.outputLegend();
            for (int i = 3; i < f.length; i++) {
              Histogram h = encoded.get(f[i]).copy();
              h.setTag((i - 3) % 2 == 1 ? f[i] : null);
              writer.outputIntervalHistogram(i - 3, i - 2, h, 1000.0);
            }
            writer.close();
            out.println("WROTE " + f[1]);
            break;
          }
          default:
            throw new IllegalArgumentException("unknown command: " + f[0]);
        }
      }
    }
  }

  static Histogram decode(byte[] bytes) throws Exception {
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    int cookieBase = buffer.getInt(0) & ~0xf0;
    if (cookieBase == 0x1c849304) return Histogram.decodeFromCompressedByteBuffer(buffer, 0);
    return Histogram.decodeFromByteBuffer(buffer, 0);
  }

  static byte[] encodeRaw(Histogram h) {
    ByteBuffer buffer = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int length = h.encodeIntoByteBuffer(buffer);
    return Arrays.copyOf(buffer.array(), length);
  }

  static byte[] encodeCompressed(Histogram h) {
    ByteBuffer buffer = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int length = h.encodeIntoCompressedByteBuffer(buffer);
    return Arrays.copyOf(buffer.array(), length);
  }

  static String b64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  static String describe(String name, Histogram h) {
    StringBuilder sb = new StringBuilder("HIST");
    sb.append(" name=").append(name);
    sb.append(" tag=").append(h.getTag() == null ? "-" : h.getTag());
    sb.append(" start_ms=").append(h.getStartTimeStamp());
    sb.append(" end_ms=").append(h.getEndTimeStamp());
    sb.append(" total=").append(h.getTotalCount());
    sb.append(" lowest=").append(h.getLowestDiscernibleValue());
    sb.append(" highest=").append(h.getHighestTrackableValue());
    sb.append(" digits=").append(h.getNumberOfSignificantValueDigits());
    sb.append(" min=").append(h.getMinValue());
    sb.append(" max=").append(h.getMaxValue());
    sb.append(" mean_bits=").append(Double.doubleToRawLongBits(h.getMean()));
    sb.append(" stddev_bits=").append(Double.doubleToRawLongBits(h.getStdDeviation()));
    sb.append(" pct=");
    for (int i = 0; i < PERCENTILES.length; i++) {
      if (i > 0) sb.append(',');
      sb.append(h.getValueAtPercentile(PERCENTILES[i]));
    }
    sb.append(" buckets=");
    boolean first = true;
    for (HistogramIterationValue v : h.recordedValues()) {
      if (!first) sb.append(',');
      first = false;
      sb.append(v.getValueIteratedTo()).append(':').append(v.getCountAtValueIteratedTo());
    }
    return sb.toString();
  }
}
