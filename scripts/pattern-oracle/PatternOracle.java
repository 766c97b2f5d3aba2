/*
 * The Java side of the pattern oracle: reads blocks of `P <base64 pattern>` followed by `S <base64 sample>` lines
 * on stdin and answers, per pattern, `OK <one 0/1 per sample>` (Pattern.compile(p).matcher(s).matches(), as AWS's
 * Java services apply model patterns) or `ERR <reason>` when Java cannot compile it. Run with `java PatternOracle.java`.
 */
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;

public class PatternOracle {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    StringBuilder out = new StringBuilder();
    String pattern = null;
    List<String> samples = new ArrayList<>();
    for (String line; (line = in.readLine()) != null; ) {
      String text = new String(Base64.getDecoder().decode(line.substring(2)), StandardCharsets.UTF_8);
      if (line.startsWith("P ")) {
        if (pattern != null) out.append(answer(pattern, samples)).append('\n');
        pattern = text;
        samples.clear();
      } else samples.add(text);
    }
    if (pattern != null) out.append(answer(pattern, samples)).append('\n');
    System.out.print(out);
  }

  static String answer(String pattern, List<String> samples) {
    Pattern p;
    try {
      p = Pattern.compile(pattern);
    } catch (Exception e) {
      return "ERR " + e.getMessage().replace('\n', ' ').replace('\r', ' ');
    }
    StringBuilder bits = new StringBuilder("OK ");
    for (String s : samples) bits.append(p.matcher(s).matches() ? '1' : '0');
    return bits.toString();
  }
}
