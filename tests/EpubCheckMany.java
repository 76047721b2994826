// Runs EPUBCheck on many EPUBs in one JVM, so the tests pay its start-up once.
// Reads lines "EPUB<TAB>REPORT.json" on standard input; for each, writes EPUBCheck's JSON
// report to REPORT.json and prints its exit status on a line of its own.
import com.adobe.epubcheck.tool.EpubChecker;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

public class EpubCheckMany {
    public static void main(String[] args) throws Exception {
        PrintStream replies = System.out;
        PrintStream silent = new PrintStream(OutputStream.nullOutputStream());
        System.setOut(silent);  // EPUBCheck's own messages: the report has them
        System.setErr(silent);
        BufferedReader requests = new BufferedReader(
            new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = requests.readLine()) != null) {
            String[] request = line.split("\t", 2);
            int status = new EpubChecker().run(new String[] {request[0], "-q", "--json", request[1]});
            replies.println(status);
            replies.flush();
        }
    }
}
