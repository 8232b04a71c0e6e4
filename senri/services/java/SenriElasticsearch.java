/*
 * An embedded single-node Elasticsearch 8 for senri's tests and development.
 *
 * Elasticsearch's own launcher refuses to run as root and enforces production bootstrap checks;
 * a Node started directly does neither, so this small class is all a developer machine needs
 * besides the server jar and the transport-netty4 module from Maven Central.
 *
 * Maven Central does not carry the rest-root module that answers GET / (info) and HEAD / (ping),
 * which clients use as a liveness check, so this class registers an equivalent handler itself.
 *
 * Usage: java -cp <lib/*>:<this dir> SenriElasticsearch <modules dir> key=value...
 * Every key=value is a node setting (path.home, path.data, http.port, ...). The node runs until
 * the JVM gets SIGTERM; a shutdown hook closes it so the data directory is left consistent.
 */

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.rest.RestChannel;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

public final class SenriElasticsearch {

    private static final String LOG4J2 = String.join("\n",
        "status = error",
        "appender.console.type = Console",
        "appender.console.name = console",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n",
        "rootLogger.level = info",
        "rootLogger.appenderRef.console.ref = console",
        "");

    private SenriElasticsearch() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: SenriElasticsearch <modules dir> [key=value ...]");
            System.exit(2);
        }
        Path modules = Path.of(args[0]);
        Settings.Builder builder = Settings.builder();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) {
                System.err.println("not a key=value setting: " + args[i]);
                System.exit(2);
            }
            builder.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        Settings settings = builder.build();
        String nodeName = settings.get("node.name", "senri");

        Path config = Path.of(settings.get("path.home")).resolve("config");
        Files.createDirectories(config);
        Path log4j = config.resolve("log4j2.properties");
        if (Files.notExists(log4j)) {
            Files.writeString(log4j, LOG4J2, StandardCharsets.UTF_8);
        }

        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(nodeName);
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), config, () -> nodeName);
        LogConfigurator.configure(environment, true);

        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(modules),
            PluginsLoader.loadPluginsBundles(environment.pluginsDir()),
            Map.of(),
            false); // no server module exports: the server is on the class path, not a module layer

        Node node = new Node(environment, plugins);
        // The node's own threads are daemons: main parks on this latch, as Elasticsearch's
        // keep-alive thread does, until the shutdown hook has closed the node.
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
                System.out.println("senri: elasticsearch node stopped");
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                LogManager.shutdown();
                stopped.countDown();
            }
        }, "senri-es-shutdown"));
        node.start();
        RestController rest = node.injector().getInstance(RestController.class);
        rest.registerHandler(new RootHandler(node.injector().getInstance(ClusterService.class)));
        System.out.println("senri: elasticsearch node started");
        stopped.await();
    }

    /** GET / and HEAD /: the node's name, cluster and version, as the rest-root module answers. */
    private static final class RootHandler implements RestHandler {
        private final ClusterService cluster;

        RootHandler(ClusterService cluster) {
            this.cluster = cluster;
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"),
                new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        public String getName() {
            return "senri_root_action";
        }

        @Override
        public void handleRequest(RestRequest request, RestChannel channel, NodeClient client)
            throws Exception {
            XContentBuilder body = channel.newBuilder();
            if (request.method() == RestRequest.Method.HEAD) {
                channel.sendResponse(new RestResponse(RestStatus.OK,
                    body.getResponseContentTypeString(), BytesArray.EMPTY));
                return;
            }
            Build build = Build.current();
            body.startObject()
                .field("name", cluster.localNode().getName())
                .field("cluster_name", cluster.getClusterName().value())
                .field("cluster_uuid", cluster.state().metadata().clusterUUID())
                .startObject("version")
                .field("number", build.qualifiedVersion())
                .field("build_flavor", build.flavor())
                .field("build_type", build.type().displayName())
                .field("build_hash", build.hash())
                .field("build_date", build.date())
                .field("build_snapshot", build.isSnapshot())
                .field("lucene_version", org.apache.lucene.util.Version.LATEST.toString())
                .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                .endObject()
                .field("tagline", "You Know, for Search")
                .endObject();
            channel.sendResponse(new RestResponse(RestStatus.OK, body));
        }
    }
}
