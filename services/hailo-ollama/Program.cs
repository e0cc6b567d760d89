return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoOllama.OllamaService.Definition);
