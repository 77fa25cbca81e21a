from webhooks.launch import main

main()
