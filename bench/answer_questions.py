"""Questions for bench/answer_quality.py, written before any tuning.

Each in-corpus question has gold facts: short strings, any one of which the right answer
contains (matched without case, quotes, asterisks or backticks). Questions at even positions
are the tuning half; odd positions are held out and were not looked at while tuning.
"""

# The user guide (data/), indexed by ragtui on first run.
GUIDE = [
    ("How long do sessions last by default?", ["3600", "1 hour", "one hour"]),
    ("How do I resume an earlier chat?", ["session browser", "--session"]),
    ("Which command indexes my own documents?", ["ragtui ingest"]),
    ("Where is the data directory on Linux?", ["~/.local/share/ragtui"]),
    ("What happens when Redis goes down in the middle of a conversation?", ["saving locally", "keeps saving"]),
    ("Can ragtui index PDF files?", ["pdf"]),
    ("What is the default language model?", ["smollm2"]),
    ("How do I stop an answer early?", ["esc"]),
    ("What does pinning a session do?", ["never expires"]),
    ("What does the --no-history flag do?", ["without the conversation"]),
    ("Where is the config file on Linux?", ["~/.config/ragtui/config.toml"]),
    ("What does the fts search mode use?", ["bm25"]),
    # The guide's wording changed after these were written (a4b1cbb, 1eef8a0): the gold
    # facts follow it, the old ones are kept.
    ("How are vector and full-text results merged in hybrid search?", ["reciprocal rank fusion", "scored together"]),
    ("What happens to conversations in the memory store mode when the app exits?", ["nothing is kept"]),
    ("How does the local store make sessions survive a restart?", ["journal", "fsync"]),
    ("What is the default Redis URL?", ["redis://localhost:6379/0"]),
    ("How many messages does a session keep at most by default?", ["1000"]),
    ("How can I use a different GGUF model?", ["--model", "models/"]),
    ("What can an operator do on the admin screen?", ["extend, export or clear"]),
    ("Which environment variable moves the data directory?", ["ragtui_data_dir"]),
    ("What does the cache directory hold?", ["query encoder", "onnx encoder"]),
    ("Are hidden files indexed?", ["skipped"]),
    ("What happens when I ingest a file that has not changed?", ["skipped", "content hash"]),
    ("What does ingest --rebuild do?", ["starts the index over"]),
    ("Which kinds of Redis URL can I give?", ["rediss://", "unix://"]),
]

# The Python language reference topics (`ragtui ingest --python-docs`).
PYTHON = [
    ("What does the pass statement do?", ["null operation"]),
    ("Which exception does a failing assert statement raise?", ["assertionerror"]),
    ("Which method is called when a with statement enters its context manager?", ["__enter__"]),
    ("What does break do inside a loop?", ["terminates the nearest enclosing loop"]),
    ("What does the continue statement do?", ["next cycle"]),
    ("What does the global statement do to the names it lists?", ["interpreted as globals"]),
    ("What does an anonymous function created with lambda look like?", ["lambda", "anonymous function"]),
    ("Which numbers are considered false in a truth test?", ["zero of any numeric type"]),
    ("How does the expression x and y evaluate?", ["first evaluates x"]),
    ("What is str.casefold used for?", ["caseless matching"]),
    ("How do I write an imaginary literal?", ["j"]),
    ("What does a chained comparison like x < y <= z mean?", ["x < y and y <= z"]),
    ("Can I use underscores in integer literals?", ["group digits", "underscores are ignored"]),
    ("What does del do to a name?", ["removes the binding"]),
    ("What does dict.setdefault do when the key is missing?", ["insert key with a value of default"]),
    ("When raising an exception with from, which attribute holds the cause?", ["__cause__"]),
    ("What turns a function into a generator function?", ["yield"]),
    ("What is the None object returned by?", ["explicitly return a value"]),
    ("How does a for loop iterate over a sequence?", ["iterator"]),
    ("What does the else clause of a while loop do?", ["else", "terminates"]),
]

# Written after the three runs in bench/RESULTS.md and before the evidence rework that
# followed them; held out entirely: never run while tuning, reported on their own.
NEW_HELD_OUT = {
    "guide": [
        ("What does ragtui do with files larger than 50 MiB?", ["50 mib"]),
        ("How do I offload model layers to a GPU?", ["n_gpu_layers"]),
        ("Where do I put the API key for a served model?", ["ragtui_llm_api_key", "llm_api_key_file"]),
        ("How long does ragtui wait for a slow model server?", ["120"]),
        ("How can I see the sessions of another user?", ["--user", "ragtui_user"]),
        ("What format is the config file?", ["toml"]),
        ("Which key regenerates an answer?", ["ctrl+r"]),
        ("How does a new session get its title?", ["first question"]),
        ("What is the default namespace of the Redis keys?", ["ragtui by default"]),
        ("How far can a session's countdown be extended at most?", ["10 years"]),
        ("What happens when the disk is full as a message is saved?", ["not kept", "no space left"]),
        ("Which servers can run a bigger model for ragtui?", ["vllm", "ollama", "llama-server", "llama_cpp.server"]),
        ("Does ragtui send my documents to a cloud service?", ["nothing leaves the machine", "no cloud service"]),
        ("Where is the cache directory on Linux?", ["~/.cache/ragtui"]),
    ],
    "python": [
        ("What does the nonlocal statement do?", ["previously bound variables", "nearest enclosing scope"]),
        ("How can a user-defined class support the in operator?", ["__contains__"]),
        ("What do the is and is not operators test?", ["same object", "objects identity"]),
        ("What does the // operator compute?", ["floor"]),
        ("What happens when a generator function executes a return statement?", ["stopiteration"]),
        ("What is the finally clause of a try statement for?", ["cleanup", "whether an exception occurred or not"]),
        ("What does raise do when no expression is given?", ["re-raises"]),
        ("Which string becomes a function's docstring?", ["first statement", "__doc__"]),
        ("What is the Ellipsis object commonly used for?", ["slicing"]),
        ("How tightly does the power operator bind compared to unary operators?", ["more tightly"]),
    ],
}

# Manual pages of this machine (bench/eval/man-pages.txt, rendered as bench/rag_quality.py
# does): a third corpus, written before tuning on it; all tuning questions.
MAN = [
    ("What does tac do?", ["last line first"]),
    ("What does mkdir -p do?", ["parent directories as needed"]),
    ("What does wc -l print?", ["newline counts"]),
    ("How does df -h print sizes?", ["powers of 1024"]),
    ("What does the tee command do?", ["standard input to each file", "also to standard output"]),
    ("What does mktemp print after creating a file?", ["print its name"]),
    ("What does nproc print?", ["number of processing units"]),
    ("Which files does cp -u copy?", ["newer than the destination"]),
    ("What does dmesg print?", ["kernel ring buffer"]),
    ("What does the yes command output?", ["repeatedly output a line"]),
]

# Written at the start of stop 14, before any tuning that stop; held out entirely: never run
# question by question while tuning, reported on their own.
HELD_OUT_14 = {
    "python": [
        ("Which special method implements the built-in len()?", ["__len__"]),
        ("Which method is called when an instance is called like a function?", ["__call__"]),
        ("What is the @ operator intended for?", ["matrix multiplication"]),
        ("How does a raw string literal treat backslashes?", ["backslashes as literal characters"]),
        ("What does the not operator yield?", ["true if its argument is false"]),
        ("Which methods does the async with statement call?", ["__aenter__", "__aexit__"]),
        ("When is an object's __del__ method called?", ["about to be destroyed"]),
        ("What property must __hash__ satisfy?", ["compare equal have the same hash value"]),
        ("What type does dividing two integers with / give?", ["yields a float"]),
        ("Which exception is raised when evaluating a name that is not bound?", ["nameerror"]),
        ("Which method is called to evaluate self[key]?", ["__getitem__"]),
        ("What happens when a number is divided by zero?", ["zerodivisionerror"]),
    ],
    "man": [
        ("How many lines does head print by default?", ["first 10 lines", "10 lines"]),
        ("How can tail keep printing lines as a file grows?", ["appended data as the file grows", "--follow"]),
        ("What does uniq -c do?", ["number of occurrences"]),
        ("Which exit status does timeout return when the command times out?", ["124"]),
        ("What is the default signal sent by kill?", ["default signal for kill is term", "sigterm"]),
        ("What range do niceness values have?", ["from -20", "-20 to 19"]),
        ("What does the sync command do?", ["persistent storage"]),
        ("How often does watch run its command by default?", ["every 2 seconds"]),
        ("Where does nohup write output when standard output is a terminal?", ["nohup.out"]),
        ("What does du -s show?", ["total for each argument"]),
        ("What does the shred command do to a file?", ["overwrite"]),
        ("What exit status does grep return when no lines are selected?", ["1 if no lines"]),
    ],
}

# Written at the start of stop 15, before any tuning that stop (gold facts read in the
# Python topics and the rendered man pages, not from ragtui's answers; none on a page asked
# about by stop 14's probe questions); held out entirely:
# only their group totals are looked at.
HELD_OUT_15 = {
    "python": [
        ("Is x += 1 the same as x = x + 1?", ["only evaluated once", "in-place"]),
        ("Which conversion flag in a format string calls repr()?", ["!r"]),
        ("What happens to the exception variable of an except clause after the handler ends?",
         ["cleared at the end", "del n"]),
        ("What does the ^ operator do with two integers?", ["exclusive or", "xor"]),
        ("What does from module import * bring into my namespace?", ["public names"]),
        ("If a dict display repeats a key, which value is kept?", ["last one given"]),
        ("What should a __bool__ method return?", ["false or true"]),
        ("What does shifting an integer left by n bits amount to?", ["multiplication with pow(2,n)"]),
    ],
    "man": [
        ("What happens when I touch a file that doesn't exist?", ["created empty"]),
        ("What does the factor command print?", ["prime factors"]),
        ("How can tr remove characters instead of translating them?", ["--delete", "delete characters"]),
        ("How do I decode base64 data?", ["--decode"]),
        ("What happens to the extra data when truncate shrinks a file?", ["extra data is lost"]),
        ("Why use xargs -0 for file names?", ["null character", "blanks and/or newlines"]),
        ("What increment does seq use if I leave it out?", ["defaults to 1"]),
        ("How do I make ln create a symbolic link instead of a hard link?", ["--symbolic"]),
    ],
}

# Stop 15's tuning questions (the first ten Python and ten man-page probes written while
# tuning the evidence that stop, gold read in the documents): seen, question by question.
TUNING_15 = {
    "python": [
        ("What is the if statement used for?", ["conditional execution"]),
        ("What does a slicing select?", ["range of items"]),
        ("What does await do?", ["suspend the execution"]),
        ("When is __getattr__ called?", ["default attribute access fails"]),
        ("What does str.join return?", ["concatenation of the strings"]),
        ("Can an object's identity change?", ["never changes once it has been created"]),
        ("What are assignment statements used for?", ["(re)bind names to values"]),
        ("What happens when I look up a missing key with d[key]?", ["keyerror"]),
        ("What happens when an exception is not handled at all?", ["stack traceback", "terminates execution"]),
        ("Can a lambda contain statements?", ["cannot contain statements"]),
    ],
    "man": [
        ("How do I count the words in a file?", ["print the word counts"]),
        ("How do I pick certain columns with cut?", ["select only these fields"]),
        ("What does free show?", ["amount of free and used memory"]),
        ("What does ps report?", ["snapshot of the current processes"]),
        ("How do I stop mv from overwriting files?", ["do not overwrite an existing file"]),
        ("How many lines of context does diff -u show?", ["default 3"]),
        ("How do I extract a tar archive?", ["extract files from an archive", "--extract"]),
        ("How do I print lines that do not match with grep?", ["invert the sense of matching", "--invert-match"]),
        ("How do I print without a newline with echo?", ["do not output the trailing newline"]),
        ("How do I print the Unix timestamp with date?", ["seconds since the epoch"]),
    ],
}

# Nothing in either corpus answers these: ragtui should decline.
OUT_OF_CORPUS = [
    "Who won the 1958 football world cup?",
    "What is the capital of Australia?",
    "How do I bake sourdough bread?",
    "What is the boiling point of water at the top of Mount Everest?",
    "Who painted the Mona Lisa?",
    "How many moons does Jupiter have?",
    "What is a good stretching routine for lower back pain?",
    "Which wine goes well with grilled salmon?",
    "How do I change a flat tyre on a bicycle?",
    "What did the Treaty of Westphalia establish?",
    "How tall is the Eiffel Tower?",
    "What is the best time of year to plant tulip bulbs?",
    "Who wrote the novel Pride and Prejudice?",
    "How do I knit a scarf for beginners?",
    "What causes the northern lights?",
    "How much caffeine is in a cup of espresso?",
]

# Near the user guide's domain, but not in it (checked with grep over data/): ragtui should
# decline these too (QA Q33/Q39). Written by D in stop 15 as the name rule was built, and
# checked against it then: not held out from that rule. The last one hinges on no name.
NEAR_DOMAIN = [
    "How do I store sessions in PostgreSQL?",
    "Can ragtui keep its sessions in MongoDB?",
    "How do I deploy ragtui on Kubernetes?",
    "How do I sync my sessions to Dropbox?",
    "Can ragtui index my Notion pages?",
    "How do I use ragtui from inside Emacs?",
    "Which Elasticsearch version does ragtui need?",
    "How do I send ragtui answers to a Slack channel?",
    "Can ragtui transcribe voice questions with Whisper?",
    "How do I run ragtui inside a Docker container?",
    "Can ragtui translate its answers into French?",
    "How much does a ragtui subscription cost per month?",
]

# One session of ten questions on the user guide, asked in order with history, to catch an
# answer that copies an earlier one.
SESSION = [
    ("What is ragtui?", ["terminal", "offline"]),
    ("Where are my conversations stored?", ["session store", "redis", "local"]),
    ("Can I create a session with several app instances?", ["several app instances", "share"]),
    ("How long do sessions last?", ["3600", "1 hour", "one hour"]),
    ("How do I make a session last forever?", ["pin", "--ttl 0"]),
    ("Which search modes are there?", ["hybrid"]),
    ("How do I index my notes folder?", ["ragtui ingest"]),
    ("What model answers my questions?", ["smollm2", "gguf"]),
    ("Where is the index kept?", ["index/", "data directory"]),
    ("How do I see which store I am using?", ["header", "stats pane"]),
]


def halves(questions):
    """(tuning, held_out): even and odd positions."""
    return questions[0::2], questions[1::2]
